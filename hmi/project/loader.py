"""Load a project folder (``project.yaml``, ``screens/*.yaml``); every error as ``file:line: message``.

Validation runs in two layers: the schema judges each entry on its own
(:mod:`hmi.project.schema`), then the checks here follow references between
entries. References to an entry that is present but invalid are not reported
again as unknown, so one typo yields one error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from drivers import registry
from drivers.registry import DriverKind, TagIssue, TagToCheck
from hmi.model import DataType, TagDef
from hmi.project.alarm_checks import alarm_reference_issues, limit_order_issues, needs_a_number
from hmi.project.alarm_expressions import alarm_expression_errors
from hmi.project.alarm_messages import template_problem
from hmi.project.alarm_settings import horn_files, horn_sound_issues
from hmi.project.cached_load import cached_inputs, from_cache, to_cache
from hmi.project.config import Project, ScreenDef
from hmi.project.connection_files import connection_file_issues, named_files
from hmi.project.errors import Issue, Loc, ProjectError, ProjectInvalid, did_you_mean, issues_from_validation
from hmi.project.rules_config import check_rules, split_rules
from hmi.project.schema import (
    SECTION_NOUNS,
    AlarmSpec,
    ProjectSpec,
    ScanPeriod,
    TagSpec,
    TrendSpec,
    connection_config,
    connection_spec_type,
    project_spec_model,
)
from hmi.project.screens import ScreenContext, load_screen
from hmi.project.secrets_scan import already_reported, file_secrets
from hmi.project.sync_config import sync_settings
from hmi.project.system_tags import PREFIX as SYSTEM_PREFIX
from hmi.project.system_tags import system_tag_defs
from hmi.project.yaml_source import YamlDocument, read_yaml

PROJECT_FILE = "project.yaml"
SCREENS_FOLDER = "screens"
SCREEN_SUFFIX = ".yaml"

_ENTRY_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "scan_classes": TypeAdapter(ScanPeriod),
    "tags": TypeAdapter(TagSpec),
    "alarms": TypeAdapter(AlarmSpec),
    "trends": TypeAdapter(TrendSpec),
}


def load_project(path: Path | str) -> Project:
    """Load the project in folder ``path`` (or from its ``project.yaml`` file).

    Raises :class:`ProjectInvalid` listing every error, in file and line order.
    """
    project, errors = _read_project(Path(path))
    if errors or project is None:
        raise ProjectInvalid(errors)
    return project


def check_project(path: Path | str) -> list[ProjectError]:
    """Every error in the project at ``path``, in file and line order; empty when it is valid."""
    return _read_project(Path(path), want_project=False)[1]


def check_project_with_warnings(path: Path | str) -> tuple[list[ProjectError], list[ProjectError]]:
    """Every error, and every warning (a valid but risky setting, message ``warning: ...``), in file order."""
    warnings: list[ProjectError] = []
    errors = _read_project(Path(path), warnings, want_project=False)[1]
    return errors, warnings


def _read_project(
    path: Path, warnings: list[ProjectError] | None = None, want_project: bool = True
) -> tuple[Project | None, list[ProjectError]]:
    """The project (``None`` when anything is wrong) and every error found; warnings go to ``warnings``.

    Error paths start with ``path`` as given, so they read the same as the command line that named it.
    A project checked before from the same files answers from the cache (:mod:`hmi.project.project_cache`);
    with ``want_project`` false only its validity and warnings are wanted (a check), not the project.
    """
    folder, project_file = (path.parent, path) if path.is_file() else (path, path / PROJECT_FILE)
    if not folder.is_dir():
        return None, [ProjectError(path, 0, "no such project folder")]
    if not os.path.lexists(project_file):
        return None, [ProjectError(project_file, 0, f"no {PROJECT_FILE} in the project folder {folder}")]
    screen_files, errors = _find_screen_files(folder / SCREENS_FOLDER)
    inputs = None if errors else cached_inputs(folder, project_file, screen_files)
    with _collector_paused():
        hit = from_cache(inputs, project_file, warnings, want_project) if inputs is not None else None
        if hit is not None:
            return hit.project, []
        found: list[ProjectError] = []
        project, errors, named = _check_files(folder, project_file, screen_files, errors, found)
    if warnings is not None:
        warnings += found
    if project is not None and inputs is not None:
        to_cache(inputs, project, found, named)
    return project, errors


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a project is built: with 100k tags' objects being made, the
    collector would scan them again and again (a fifth of a cold load); what cycles the build leaves
    (a parser's own) are collected once the collector runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_files(
    folder: Path,
    project_file: Path,
    screen_files: list[Path],
    errors: list[ProjectError],
    warnings: list[ProjectError],
) -> tuple[Project | None, list[ProjectError], list[Path]]:
    """Read and check every file: the project or the errors, and the files its connections name."""
    screen_names = frozenset(file.stem for file in screen_files)
    document, yaml_errors = read_yaml(project_file, project_file)
    errors += yaml_errors
    document, rules_part = split_rules(document)  # derived tags and rules: hmi.project.rules_config
    spec, declared, system, issues = _validate_project(document, screen_names, rules_part.tag_names())
    issues += connection_file_issues(spec.connections, folder)
    issues += horn_sound_issues(spec.alarm_settings, folder)
    errors += [document.error(issue) for issue in issues] if document is not None else []
    if document is not None:
        warnings += [document.error(issue) for issue in _connection_warnings(spec)]
    kinds = {kind.name: kind for kind in registry.kinds()}
    tags = {name: _tag_def(name, tag, spec, kinds) for name, tag in spec.tags.items()}
    writable_by_rules = frozenset(name for name, tag in spec.tags.items() if tag.rule_writable)
    rules, rule_tags, rule_errors = check_rules(rules_part, document, {**system, **tags}, writable_by_rules)
    errors += rule_errors
    tags.update(rule_tags)
    errors += alarm_expression_errors(spec.alarms, document, {**system, **tags})
    context = ScreenContext({**tags, **system}, declared["tags"], screen_names, declared["trends"])
    screens: dict[str, ScreenDef] = {}
    for file in screen_files:
        screen, screen_errors = load_screen(file, context)
        errors += screen_errors
        if screen is not None:
            screens[screen.name] = screen
    scan = [error for file in (project_file, *screen_files) for error in file_secrets(file, file)]
    errors += already_reported(scan, errors)
    if errors or document is None:
        return None, _reading_order(errors, [project_file, *screen_files]), []
    project = _project(spec, folder.resolve(), tags, system, screens)
    named = named_files(spec.connections, folder) + horn_files(spec.alarm_settings, folder)
    return dataclasses.replace(project, rules=rules), [], named


def _connection_warnings(spec: ProjectSpec) -> list[Issue]:
    """What each valid connection's model says is allowed but risky (a password in clear text)."""
    return [
        Issue(("connections", name, key), f"warning: connection {name!r}: {key}: {message}")
        for name, connection in spec.connections.items()
        for key, message in connection.warnings()
    ]


def _reading_order(errors: list[ProjectError], files: list[Path]) -> list[ProjectError]:
    rank = {file: position for position, file in enumerate(files)}
    return sorted(errors, key=lambda error: (rank.get(error.file, len(files)), error.line))


def _find_screen_files(folder: Path) -> tuple[list[Path], list[ProjectError]]:
    """Every entry named ``*.yaml``, by name, whatever it is: a link loop, a dangling link, a directory or
    a FIFO so named is a screen file that cannot be read, and reading it reports so (never a silent skip).

    A ``.yml`` or ``.YAML`` file would be skipped, so it is an error too.
    """
    if not os.path.lexists(folder):
        return [], []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        problem = "not a folder" if isinstance(exc, NotADirectoryError) else (exc.strerror or str(exc))
        return [], [ProjectError(folder, 0, f"cannot list the screens folder: {problem}")]
    files = [folder / name for name in names]
    yaml_like = [file for file in files if file.suffix.lower() in (".yml", ".yaml")]
    misnamed = [file for file in yaml_like if file.suffix != SCREEN_SUFFIX]
    errors = [ProjectError(file, 0, f"screen files must end in {SCREEN_SUFFIX}") for file in misnamed]
    return [file for file in files if file.suffix == SCREEN_SUFFIX], errors


Declared = dict[str, frozenset[str] | None]
"""Names each section declares, valid or not; ``None`` when the section is unreadable (skip its checks)."""


def _validate_project(
    document: YamlDocument | None, screen_names: frozenset[str], rule_tags: frozenset[str] = frozenset()
) -> tuple[ProjectSpec, Declared, dict[str, TagDef], list[Issue]]:
    """The spec (only its valid entries when it has errors), the names each section declares (system tags
    among the tags), the system tags of the declared connections, and the issues."""
    data = document.data if document is not None else None
    if not isinstance(data, dict):
        unreadable: Declared = dict.fromkeys(SECTION_NOUNS)
        issues = (
            []
            if document is None
            else [Issue((), f"{PROJECT_FILE} must be a mapping: name, connections, tags...")]
        )
        return ProjectSpec.model_construct(), unreadable, {}, issues
    declared: Declared = {section: _declared_names(data.get(section)) for section in SECTION_NOUNS}
    # A declared connection has its link tags even while it has errors: one typo, one error.
    system = system_tag_defs(sorted(declared["connections"] or ()))
    if declared["tags"] is not None:
        declared["tags"] = declared["tags"] | frozenset(system) | rule_tags
    model = project_spec_model()
    try:
        spec, issues = model.model_validate(data), []
    except ValidationError as exc:
        spec, issues = _salvage(data, model), issues_from_validation(exc, data, model, _subject)
    connections = data.get("connections")
    drivers = {
        str(name): entry.get("driver")
        for name, entry in (connections.items() if isinstance(connections, dict) else [])
        if isinstance(entry, dict)
    }
    issues += _reference_issues(spec, declared, system, drivers, screen_names)
    return spec, declared, system, issues


def _subject(loc: Loc, data: Any) -> tuple[str, Loc]:
    if len(loc) >= 2 and loc[0] in SECTION_NOUNS:
        return f"{SECTION_NOUNS[str(loc[0])]} {loc[1]!r}", loc[2:]
    if loc and loc[0] in ("history", "acquisition"):
        return str(loc[0]), loc[1:]
    if len(loc) >= 2 and loc[0] == "sync":
        return f"sync endpoint {loc[1]!r}", loc[2:]
    return "", loc


def _salvage(data: dict[str, Any], model: type[ProjectSpec]) -> ProjectSpec:
    """A spec made of the entries that are valid on their own, so cross-checks can still run on them."""
    sections: dict[str, Any] = {}
    adapters = {"connections": TypeAdapter(connection_spec_type()), **_ENTRY_ADAPTERS}
    for section, adapter in adapters.items():
        raw = data.get(section)
        if not isinstance(raw, dict):
            continue
        valid = {}
        for name, entry in raw.items():
            with contextlib.suppress(ValidationError):  # already reported by the whole-file validation
                valid[str(name)] = adapter.validate_python(entry)
        sections[section] = valid
    start_screen = data.get("start_screen")
    return model.model_construct(
        start_screen=start_screen if isinstance(start_screen, str) else None, **sections
    )


def _declared_names(section: Any) -> frozenset[str] | None:
    if section is None:
        return frozenset()
    return frozenset(map(str, section)) if isinstance(section, dict) else None


def _reference_issues(
    spec: ProjectSpec,
    declared: Declared,
    system: dict[str, TagDef],
    drivers: dict[str, Any],
    screen_names: frozenset[str],
) -> list[Issue]:
    """Problems in references between entries: unknown names, wrong tag types, clashing addresses.

    A tag's address is checked by its connection's driver, even when the connection itself has errors.
    """
    issues: list[Issue] = []
    if spec.start_screen is not None:
        issues += _unknown(("start_screen",), "start_screen", "screen", spec.start_screen, screen_names)
    known = {kind.name: kind for kind in registry.kinds()}
    foreign = _foreign_keys(known)  # once, not per tag: 100k tags ask the same question
    by_kind: dict[str, list[TagToCheck]] = {}
    for name, tag in spec.tags.items():
        issues += _tag_issues(name, tag, spec, declared)
        driver = drivers.get(tag.connection or "")
        kind = known.get(driver) if isinstance(driver, str) else None
        if kind is None:
            continue
        entry = TagToCheck(name, tag, str(tag.connection), spec.connections.get(tag.connection or ""))
        own = kind.check_tag(entry)
        issues += _tag_issue_list(own) + _foreign_key_issues(entry, kind, foreign, {i.key for i in own})
        by_kind.setdefault(kind.name, []).append(entry)
    for kind_name, entries in by_kind.items():
        issues += _tag_issue_list(known[kind_name].check_tags(entries))
    types = {name: tag.type for name, tag in system.items()} | {
        name: tag.type for name, tag in spec.tags.items() if not name.startswith(SYSTEM_PREFIX)
    }
    for name, alarm in spec.alarms.items():
        issues += _alarm_issues(name, alarm, types, declared, screen_names)
        issues += alarm_reference_issues(name, alarm, types, declared["tags"], declared["alarms"])
    issues += limit_order_issues(spec.alarms)
    for name, trend in spec.trends.items():
        for index, pen in enumerate(trend.pens):
            loc, subject = ("trends", name, "pens", index), f"trend {name!r}"
            issues += _unknown(loc, subject, "tag", pen, declared["tags"])
            if types.get(pen) is DataType.STRING:
                issues.append(
                    Issue(loc, f"{subject}: pen {pen!r} is a string tag; trends plot numbers and bools")
                )
    return issues


def _unknown(loc: Loc, subject: str, kind: str, name: str, known: Collection[str] | None) -> list[Issue]:
    """An 'unknown NAME' issue with a suggestion, unless ``name`` is known (or the names are unknowable)."""
    if known is None or name in known:
        return []
    return [Issue(loc, f"{subject}: unknown {kind} {name!r}" + did_you_mean(name, known))]


def _tag_issues(name: str, tag: TagSpec, spec: ProjectSpec, declared: Declared) -> list[Issue]:
    at, subject = ("tags", name), f"tag {name!r}"
    issues: list[Issue] = []
    if name.startswith(SYSTEM_PREFIX):
        reason = "the station's own tags, which need no definition"
        issues.append(Issue(at, f"{subject}: names under {SYSTEM_PREFIX!r} are reserved for {reason}"))
    if tag.connection is None:
        issues.append(
            Issue(at, f"{subject}: missing required key 'connection' (every tag needs one, for now)")
        )
    else:
        issues += _unknown(
            (*at, "connection"), subject, "connection", tag.connection, declared["connections"]
        )
    if tag.scan in spec.scan_classes:
        pass
    elif "scan" in tag.model_fields_set and declared["scan_classes"] is not None:
        known = declared["scan_classes"] | spec.scan_classes.keys()
        issues += _unknown((*at, "scan"), subject, "scan class", tag.scan, known)
    elif declared["scan_classes"] is not None:
        issues.append(Issue(at, f"{subject}: no scan given, and scan_classes lacks the default {tag.scan!r}"))
    return issues


def _tag_issue_list(found: list[TagIssue]) -> list[Issue]:
    return [Issue(("tags", issue.tag, issue.key), f"tag {issue.tag!r}: {issue.message}") for issue in found]


def _foreign_key_issues(
    entry: TagToCheck, kind: DriverKind, foreign: dict[str, dict[str, list[str]]], reported: set[str]
) -> list[Issue]:
    """Keys another driver kind owns, written on a tag of ``kind`` (unless its own check spoke of them)."""
    issues: list[Issue] = []
    for key, owners in foreign[kind.name].items():
        if key not in reported and getattr(entry.tag, key, None) is not None:
            article = "an" if kind.title[:1].upper() in "AEIOU" else "a"
            where = f"not allowed on {article} {kind.title} tag ({' or '.join(owners)} only)"
            issues.append(Issue(("tags", entry.name, key), f"tag {entry.name!r}: {key}: {where}"))
    return issues


def _foreign_keys(known: dict[str, DriverKind]) -> dict[str, dict[str, list[str]]]:
    """Per kind, the tag keys only other kinds own (in the schema's order) and the titles of those kinds."""
    foreign: dict[str, dict[str, list[str]]] = {}
    for kind in known.values():
        owners: dict[str, list[str]] = {}
        for other in known.values():
            for key in other.tag_keys - kind.tag_keys:
                owners.setdefault(key, []).append(other.title)
        foreign[kind.name] = {key: owners[key] for key in TagSpec.model_fields if key in owners}
    return foreign


def _alarm_issues(
    name: str,
    alarm: AlarmSpec,
    types: dict[str, DataType],
    declared: Declared,
    screen_names: frozenset[str],
) -> list[Issue]:
    at, subject = ("alarms", name), f"alarm {name!r}"
    issues = _unknown((*at, "tag"), subject, "tag", alarm.tag, declared["tags"])
    data_type = types.get(alarm.tag)
    # A bool counts as 0 or 1, so a limit between the two makes it a switch (lo 0.5: alarm while false);
    # any other limit on a bool could never be crossed.
    switch = data_type is DataType.BOOL and 0 < alarm.limit < 1
    if data_type is not None and not data_type.is_numeric and not switch and needs_a_number(alarm):
        issues.append(
            Issue((*at, "tag"), f"{subject}: tag {alarm.tag!r} is {data_type}; limit alarms need a number")
        )
    for key in ("screen", "faceplate"):
        if getattr(alarm, key) is not None:
            issues += _unknown((*at, key), subject, "screen", getattr(alarm, key), screen_names)
    return issues + _message_issues(at, subject, alarm.message, data_type)


def _message_issues(at: Loc, subject: str, message: str, data_type: DataType | None) -> list[Issue]:
    """A message template that would fail when the alarm trips (see :mod:`hmi.project.alarm_messages`)."""
    problem = template_problem(message, data_type)
    return [] if problem is None else [Issue((*at, "message"), f"{subject}: {problem}")]


def _tag_def(name: str, tag: TagSpec, spec: ProjectSpec, kinds: dict[str, DriverKind]) -> TagDef:
    """A tag as the runtime sees it; unknown references resolve to defaults so screens can be checked."""
    connection = spec.connections.get(tag.connection or "")
    kind = kinds.get(str(getattr(connection, "driver", "")))
    entry = TagToCheck(name, tag, str(tag.connection), connection)
    link = kind.tag_link(entry) if kind is not None else None
    return tag.to_def(name, spec.scan_classes.get(tag.scan, 0.0), link)


def _project(
    spec: ProjectSpec,
    root: Path,
    tags: dict[str, TagDef],
    system: dict[str, TagDef],
    screens: dict[str, ScreenDef],
) -> Project:
    return Project(
        name=spec.name,
        root=root,
        connections={name: connection_config(name, entry, root) for name, entry in spec.connections.items()},
        scan_classes=dict(spec.scan_classes),
        tags=tags,
        alarms={name: alarm.to_def(name) for name, alarm in spec.alarms.items()},
        history=spec.history.to_settings(root),
        screens=screens,
        trends={name: trend.to_def(name) for name, trend in spec.trends.items()},
        start_screen=spec.start_screen,
        system_tags=system,
        acquisition=spec.acquisition.to_settings(),
        sync=sync_settings(spec.sync, root),
        alarm_settings=spec.alarm_settings.to_settings(root),
    )
