"""A per-user cache of validated projects, keyed by the content of every file the check read.

A 100k-tag project takes seconds to read and check even on the fast path; the
next start or ``hmi check`` of the same files answers from here. An entry is
written only for a project that checked without errors, so an error is never
hidden: any change to ``project.yaml``, a screen file, the screens folder's
listing or the code that judges them is a different key, and a file a
connection names is looked at again on every hit (it may have gone since).

An entry is one file, written atomically (a temporary file renamed over it):

    MAGIC, header length (8 bytes), header (JSON), payload (pickle)

The header says what it was built from, the payload's SHA-256, the warnings and
the history path: ``hmi check`` and ``hmi history export`` answer from the
header alone. The payload is unpickled only once its digest matches, from a file
this user owns and no one else may write; anything damaged or foreign is
ignored (and rebuilt by the next load), never an error.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import pickle
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.project.config import Project

log = logging.getLogger(__name__)

CACHE_ENV = "CONVERGE_HMI_CACHE_DIR"
"""Overrides the cache folder (tests point it at a temporary folder); empty turns the cache off."""
FORMAT = 1
MAGIC = b"converge-hmi project cache\n"
MAX_ENTRIES = 16
"""Entries kept per user; the least recently written go first."""
MAX_HEADER = 4 * 1024 * 1024
# Not blocking on a FIFO named like a project file (where the platform has the flag).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_CODE_PACKAGES = ("hmi/project", "hmi/model", "hmi/rules", "drivers")
"""The code whose change invalidates every entry: what reads, judges and represents a project."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """What one check of a project read: its folder and the digest of every file and listing."""

    folder: Path
    digest: str


@dataclass(frozen=True, slots=True)
class Entry:
    """What a cached check found, and where its project is (read only when asked for)."""

    path: Path
    warnings: list[tuple[int, str]]
    history_path: str
    named_files: list[str]
    payload_sha256: str
    payload_offset: int
    payload_length: int


def cache_folder() -> Path | None:
    """The folder of this user's entries, or ``None`` when the cache is turned off."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("converge-hmi", appauthor=False)) / "projects"


def project_inputs(folder: Path, files: list[Path], listing: list[str] | None) -> Inputs | None:
    """The key of a check of ``files`` (project.yaml first) with the screens folder's ``listing``.

    ``None`` when a file is not a plain readable file: the full check says what is wrong with it.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([FORMAT, _code_version(), _registered(), str(folder), listing]).encode())
    for file in files:
        content = _regular_file_bytes(file)
        if content is None:
            return None
        digest.update(f"\0{file.name}\0{len(content)}\0".encode())
        digest.update(hashlib.sha256(content).digest())
    return Inputs(folder, digest.hexdigest())


def lookup(inputs: Inputs) -> Entry | None:
    """The entry for ``inputs`` when one is there, whole and this user's; its payload is not read yet."""
    path = _entry_path(inputs)
    if path is None:
        return None
    try:
        with _open_owned(path) as file:
            if file.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(file.read(8), "big")
            if not 0 < size <= MAX_HEADER:
                return None
            header = json.loads(file.read(size).decode("utf-8"))
            offset = len(MAGIC) + 8 + size
        if header.get("format") != FORMAT or header.get("key") != inputs.digest:
            return None
        return Entry(
            path,
            [(int(line), str(message)) for line, message in header["warnings"]],
            str(header["history_path"]),
            [str(name) for name in header["named_files"]],
            str(header["payload_sha256"]),
            offset,
            int(header["payload_length"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged entry is no entry
        log.debug("project cache entry %s ignored: %s", path, exc)
        return None


def load_payload(entry: Entry) -> Project | None:
    """The project of ``entry``, once its bytes match the digest the header gives; ``None`` otherwise."""
    try:
        with _open_owned(entry.path) as file:
            file.seek(entry.payload_offset)
            payload = file.read(entry.payload_length + 1)
        whole = len(payload) == entry.payload_length
        if not whole or hashlib.sha256(payload).hexdigest() != entry.payload_sha256:
            return None
        project = pickle.loads(payload)  # this user's own file, its digest checked above
    except Exception as exc:  # a damaged or stale entry is no entry: the project is read again
        log.debug("project cache payload %s ignored: %s", entry.path, exc)
        return None
    return project if isinstance(project, Project) else None


def store(inputs: Inputs, project: Project, warnings: list[tuple[int, str]], named_files: list[Path]) -> None:
    """Write the entry of a project that checked without errors (best effort: a failure is only logged)."""
    path = _entry_path(inputs)
    if path is None:
        return
    try:
        payload = _dump(project)
        header = json.dumps(
            {
                "format": FORMAT,
                "key": inputs.digest,
                "folder": str(inputs.folder),
                "warnings": warnings,
                "history_path": str(project.history.path),
                "named_files": [str(file) for file in named_files],
                "payload_sha256": hashlib.sha256(payload).hexdigest(),
                "payload_length": len(payload),
            }
        ).encode("utf-8")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(MAGIC + len(header).to_bytes(8, "big") + header)
                file.write(payload)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _prune(path.parent)
    except Exception as exc:  # a full disk or a read-only home must not stop a valid project loading
        log.warning("could not write the project cache entry %s: %s", path, exc)


def _entry_path(inputs: Inputs) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    # One entry per project folder: a new version of the files replaces the old entry.
    name = hashlib.sha256(str(inputs.folder).encode()).hexdigest()[:32]
    return folder / f"{name}.entry"


@contextlib.contextmanager
def _open_owned(path: Path) -> Any:
    """``path`` opened for reading, when it is a regular file this user owns and only this user may write."""
    handle = os.open(path, _READ_FLAGS)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
            raise OSError(f"{path} is not this user's own file")
        with os.fdopen(handle, "rb", closefd=False) as file:
            yield file
    finally:
        os.close(handle)


def _regular_file_bytes(path: Path) -> bytes | None:
    try:
        handle = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        with os.fdopen(handle, "rb", closefd=False) as file:
            return file.read()
    except OSError:
        return None
    finally:
        os.close(handle)


def _prune(folder: Path) -> None:
    def written(entry: Path) -> int:
        try:
            return entry.stat().st_mtime_ns
        except OSError:  # removed meanwhile by another process
            return 0

    for old in sorted(folder.glob("*.entry"), key=written, reverse=True)[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            old.unlink()


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def _restore_dataclass(cls: type, values: tuple[Any, ...]) -> Any:
    """A slotted dataclass from its field values (the standard way asks ``fields()`` again for every one)."""
    instance: Any = object.__new__(cls)
    for name, value in zip(_field_names(cls), values, strict=True):
        object.__setattr__(instance, name, value)  # frozen ones too: this is their own state, restored
    return instance


class _Reducers(dict[type, Any]):
    """The pickler's dispatch table: slotted dataclasses (100k tag definitions and their links) as tuples
    of their values, restored without ``dataclasses``' own state restore (it asks ``fields()`` for each
    object). Looked up by the C pickler only for types it has no fast path for, and once per type."""

    def __missing__(self, cls: type) -> Any:
        reduce: Any
        if dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__:
            names = _field_names(cls)

            def reduce(obj: Any) -> tuple[Any, ...]:
                return _restore_dataclass, (cls, tuple([getattr(obj, name) for name in names]))

        elif issubclass(cls, type):
            raise KeyError(cls)  # a class (an enum's, say): pickled by reference, as without this table
        else:
            reduce = copyreg.dispatch_table.get(cls) or _default_reduce
        self[cls] = reduce
        return reduce


def _default_reduce(obj: Any) -> Any:
    return obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


def _dump(project: Project) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _Reducers()
    pickler.dump(project)
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def _code_version() -> list[Any]:
    """The installed version and the size and time of every source file that reads or judges a project."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("converge-hmi")
    except PackageNotFoundError:
        installed = "unknown"
    root = Path(__file__).resolve().parents[2]
    files: list[Any] = []
    for package in _CODE_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            with contextlib.suppress(OSError):
                info = source.stat()
                files.append([str(source.relative_to(root)), info.st_size, info.st_mtime_ns])
    return [installed, files]


def _registered() -> list[Any]:
    """The driver kinds and screen item types registered now: a plugin changes what a check accepts."""
    from drivers import registry
    from hmi.model.symbol_catalog import SYMBOLS

    kinds = [[kind.name, kind.title, sorted(kind.tag_keys)] for kind in registry.kinds()]
    symbols = [[symbol.name, symbol.props.__module__, symbol.props.__qualname__] for symbol in SYMBOLS]
    return [registry.generation(), kinds, symbols]
