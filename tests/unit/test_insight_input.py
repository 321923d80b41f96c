"""Reading records for `ivrflow report`: malformed lines counted by reason, gzip, filters."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ivrflow.insight.records_input import (
    Filters,
    InputStats,
    RecordsInputError,
    check,
    parse_time,
    read,
)

SP = dt.timezone(dt.timedelta(hours=-3))


def record(n: int = 1, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "call_id": f"c-{n}",
        "flow": "billing",
        "flow_version": "2.3",
        "dnis": "+551130030001",
        "started_at": "2026-11-16T13:00:00.000+00:00",
        "duration": 42.0,
        "outcome": {"kind": "self_served", "reason": "self_service"},
        "path": [{"state": "start", "t": 0.0}],
        "inputs": [],
        "lookups": [],
        "noinput": 0,
        "nomatch": 0,
    }
    base.update(changes)
    return base


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ids(path: Path | str, filters: Filters | None = None) -> tuple[list[str], InputStats]:
    stats = InputStats()
    got = [r["call_id"] for r, _ in read([str(path)], stats, filters or Filters())]
    return got, stats


def test_malformed_lines_are_counted_by_reason_with_their_file_and_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "r.jsonl",
        [
            json.dumps(record(1)),
            '{"call_id": "torn", "flow": "bill',  # a line cut by a crash
            json.dumps({k: v for k, v in record(3).items() if k != "outcome"}),
            json.dumps(record(4, duration="long")),
            "",  # blank lines are not records and not malformed
            json.dumps(record(5)),
            "[1, 2]",
        ],
    )
    got, stats = ids(path)
    assert got == ["c-1", "c-5"]
    assert stats.lines == 6
    assert dict(stats.malformed) == {"not_json": 1, "missing_field": 1, "wrong_type": 2}
    assert stats.examples[0].startswith(f"{path}:2: not JSON")
    assert stats.examples[1] == f"{path}:3: missing field 'outcome'"
    assert stats.examples[2] == f"{path}:4: field 'duration' is str"
    assert stats.as_json()["malformed"] == {"not_json": 1, "missing_field": 1, "wrong_type": 2}


def test_only_the_first_few_examples_are_kept_but_all_are_counted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "r.jsonl", ["nope"] * 40)
    _, stats = ids(path)
    assert stats.malformed["not_json"] == 40
    assert len(stats.examples) == 5


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"outcome": {"kind": "vanished"}}, "wrong_type"),
        ({"outcome": {}}, "missing_field"),
        ({"path": [{"t": 0}]}, "wrong_type"),
        ({"started_at": "yesterday"}, "wrong_type"),
        ({"noinput": True}, "wrong_type"),
        ({"lookups": {}}, "wrong_type"),
    ],
)
def test_records_that_would_break_a_figure_are_refused(
    changes: dict[str, Any], reason: str
) -> None:
    problem = check(record(**changes))
    assert problem is not None
    assert problem[0] == reason


def test_a_record_without_optional_fields_is_still_usable() -> None:
    bare = record()
    for name in ("flow_version", "dnis", "inputs", "lookups", "noinput", "nomatch"):
        del bare[name]
    assert check(bare) is None


def test_gzip_files_are_read_like_plain_ones(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps(record(1)) + "\n" + json.dumps(record(2)) + "\n")
    got, stats = ids(path)
    assert got == ["c-1", "c-2"]
    assert stats.malformed_total == 0


def test_a_missing_file_is_an_error_not_an_empty_report(tmp_path: Path) -> None:
    with pytest.raises(RecordsInputError, match="cannot read"):
        ids(tmp_path / "absent.jsonl")


def test_filters_by_dnis_flow_version_and_time(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "r.jsonl",
        [
            json.dumps(record(1)),
            json.dumps(record(2, dnis="+18885550142")),
            json.dumps(record(3, flow_version="2.2")),
            json.dumps(record(4, started_at="2026-11-20T02:59:59.000+00:00")),
            json.dumps(record(5, started_at="2026-11-20T03:00:00.000+00:00")),
        ],
    )
    assert ids(path, Filters(dnis=frozenset({"+18885550142"})))[0] == ["c-2"]
    assert ids(path, Filters(flow_versions=frozenset({"2.2"})))[0] == ["c-3"]
    # In São Paulo, 2026-11-19 ends at 03:00 UTC on the 20th: a date as --until includes it.
    until = parse_time("2026-11-19", SP, end=True)
    since = parse_time("2026-11-19", SP)
    got, stats = ids(path, Filters(since=since, until=until))
    assert got == ["c-4"]
    assert stats.records == 5 and stats.used == 1 and stats.filtered_out == 4


def test_times_without_an_offset_are_read_in_the_given_zone() -> None:
    assert parse_time("2026-11-16T08:00", SP) == parse_time("2026-11-16T11:00:00+00:00", SP)
    assert parse_time("2026-11-16", dt.UTC, end=True) - parse_time("2026-11-16", dt.UTC) == 86400
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_time("last tuesday", dt.UTC)


def test_a_truncated_gzip_file_counts_as_a_bad_line_after_what_could_be_read(
    tmp_path: Path,
) -> None:
    whole = gzip.compress(("\n".join(json.dumps(record(n)) for n in range(200)) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    got, stats = ids(path)
    assert 0 < len(got) < 200
    assert stats.malformed["not_json"] >= 1
    assert any("cannot read further" in e or "not JSON" in e for e in stats.examples)
