"""The benchmarks measure what they claim: a private, validated year cache and a plant-shaped feeder."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import struct
from collections import Counter
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from benchmarks import history_queries, modbus, plant_feed, runner, year_cache
from hmi.historian.schema import SCHEMA_VERSION

SMALL = year_cache.YearSpec(days=2)


def test_cache_is_private_and_named_for_its_content(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = year_cache.cache_folder()
    assert folder.is_relative_to(tmp_path / "cache")
    assert folder.stat().st_mode & 0o077 == 0
    name = SMALL.file_name()
    assert f"v{SCHEMA_VERSION}" in name and SMALL.digest() in name
    assert year_cache.YearSpec(days=3).digest() != SMALL.digest()


def test_cache_is_built_whole_and_then_reused(tmp_path: Path) -> None:
    path, built = year_cache.ensure(SMALL, tmp_path)
    assert built
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".building-")]
    year_cache.validate(path, SMALL)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM samples").fetchone()[0] == SMALL.samples
    again, built = year_cache.ensure(SMALL, tmp_path)
    assert again == path and not built


def _half_built(path: Path) -> None:
    """A file cut short by another run: the schema and a day of samples, no rollups, no completion mark."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a database at all"),
        lambda p: p.write_bytes(b""),
        _half_built,
    ],
    ids=["garbage", "empty", "half-built"],
)
def test_a_file_not_built_whole_is_never_trusted(tmp_path: Path, damage) -> None:
    path = tmp_path / SMALL.file_name()
    damage(path)
    with pytest.raises(year_cache.CacheInvalid):
        year_cache.validate(path, SMALL)
    rebuilt, built = year_cache.ensure(SMALL, tmp_path)
    assert rebuilt == path and built
    year_cache.validate(path, SMALL)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM rollup_1h WHERE bucket = (SELECT max(bucket) FROM rollup_1h)",
        "DELETE FROM samples WHERE ts = (SELECT max(ts) FROM samples)",
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
        "DELETE FROM meta WHERE key = 'bench_year_complete'",
    ],
    ids=["rollup-rows", "raw-rows", "schema-version", "completion-mark"],
)
def test_validation_checks_version_mark_and_counts(tmp_path: Path, sql: str) -> None:
    path, _ = year_cache.ensure(SMALL, tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    with pytest.raises(year_cache.CacheInvalid):
        year_cache.validate(path, SMALL)


def test_a_cache_of_another_size_is_not_this_one(tmp_path: Path) -> None:
    path, _ = year_cache.ensure(SMALL, tmp_path)
    with pytest.raises(year_cache.CacheInvalid):
        year_cache.validate(path, year_cache.YearSpec(days=3))


def test_feeder_offers_each_tag_once_per_simulated_second_with_changing_values() -> None:
    names = plant_feed.tag_names(500)
    assert len(set(names)) == 500
    seconds = list(plant_feed.seconds(names, 4))
    assert len(seconds) == 4
    for second, batch in enumerate(seconds):
        assert Counter(tag for tag, _ in batch) == Counter(names)
        low = plant_feed.START + second
        assert all(low <= s.ts < low + 1 for _, s in batch)
    for before, after in itertools.pairwise(seconds):
        assert all(a[1].value != b[1].value for a, b in zip(before, after, strict=True))


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT tags.name, ts, value, quality, reason, seq FROM samples JOIN tags ON tags.id = tag_id"
            " ORDER BY seq"
        ).fetchall()


def test_both_sides_commit_once_per_simulated_second_and_store_the_same_rows(tmp_path: Path) -> None:
    names = plant_feed.tag_names(50)
    _, _, bare_commits = plant_feed.bare(tmp_path / "bare.db", names, 3)
    _, _, ours_commits = plant_feed.ours(tmp_path / "ours.db", names, 3)
    assert bare_commits == 3
    assert ours_commits == 3
    ours, bare = _rows(tmp_path / "ours.db"), _rows(tmp_path / "bare.db")
    assert len(ours) == 150
    assert ours == bare
    with sqlite3.connect(tmp_path / "ours.db") as conn:  # ours kept its rollups: the bare side has none
        assert conn.execute("SELECT sum(count) FROM rollup_10s").fetchone()[0] == 150


def test_the_year_baseline_reads_the_hourly_rollup(tmp_path: Path) -> None:
    path, _ = year_cache.ensure(SMALL, tmp_path)
    end = SMALL.end - 1234.5
    rows = history_queries.bare_hourly(path, end - SMALL.days * 86_400 + 3600, end)()
    assert 0 < len(rows) <= 1000
    assert history_queries.drop_from_page_cache(path) in (True, False)


def test_the_helpers_are_not_listed_as_benchmarks() -> None:
    names = runner.available()
    assert "historian" in names
    assert not {"plant_feed", "history_queries", "year_cache"} & set(names)


def test_the_modbus_server_changes_every_value_between_two_reads() -> None:
    async def two_reads() -> list[tuple[list[int], list[bool]]]:
        async with modbus._servers(1, changing=True) as (port,):
            client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5.0)
            await client.connect()
            try:
                reads = []
                for _ in range(2):
                    registers = await client.read_holding_registers(0, count=125, device_id=1)
                    coils = await client.read_coils(0, count=167, device_id=1)
                    assert not registers.isError() and not coils.isError()
                    reads.append((registers.registers, coils.bits[:167]))
                return reads
            finally:
                client.close()

    (regs_a, coils_a), (regs_b, coils_b) = asyncio.run(two_reads())
    assert all(a != b for a, b in zip(regs_a, regs_b, strict=True))
    assert all(a != b for a, b in zip(coils_a, coils_b, strict=True))
    assert all(r < 0x7F00 for r in regs_a + regs_b)  # no float32 high word of an infinity or a NaN


def test_the_bare_decode_is_the_tags_values() -> None:
    registers = [*struct.unpack(">2H", struct.pack(">f", 21.5)), 7]
    assert modbus._decode(registers, ((0, ">f"), (2, ">H"))) == [21.5, 7]
