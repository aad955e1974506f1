"""The drain's tuple reader returns the samples the dict reader does, in the same order, late ones too."""

from __future__ import annotations

from pathlib import Path

from sync_store import FilledStore

from hmi.model import Sample


def test_tuples_and_dicts_page_through_the_same_samples(tmp_path: Path) -> None:
    filled = FilledStore(tmp_path / "history.db")
    try:
        filled.add_samples(300)
        filled.commit()
        filled.add_late_sample("T1", 4.5, 1.6e9)  # an old timestamp committed after newer ones
        filled.add("S", Sample.good('text "q"'))
        filled.commit()
        source = filled.source()
        for page in (1, 7, 1000):
            after, seen = 0, 0
            for _ in range(1000):  # bounded
                dicts = source.read("history", after, page)
                tuples = source.read("history", after, page, tuples=True)
                assert tuples == [
                    (r["seq"], r["tag"], r["ts"], r["value"], r["quality"], r["reason"]) for r in dicts
                ]
                if not dicts:
                    break
                seen += len(dicts)
                after = dicts[-1]["seq"]
            assert seen == 302
        assert source.has_tuples("history") and not source.has_tuples("alarms")
        source.close()
    finally:
        filled.close()
