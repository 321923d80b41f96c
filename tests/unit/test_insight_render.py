"""`ivrflow report` output, pinned by golden files, and the CSV/JSON shapes scripts rely on.

    IVRFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_insight_render.py   # after a deliberate change

tests/report_golden/small.jsonl is 43 records taken from flows/records/ plus two broken
lines (a torn line, a record without `started_at`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from ivrflow.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "report_golden"
UPDATE = os.environ.get("IVRFLOW_UPDATE_GOLDEN") == "1"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", "tests/report_golden/small.jsonl", "--flows", "flows", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths in the output are the ones given: relative, stable


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("small.txt", []),
        ("small-hour-sp.txt", ["--by", "hour", "--tz", "America/Sao_Paulo", "--flow", "bank"]),
        ("small.csv", ["--format", "csv"]),
        ("small.json", ["--format", "json"]),
        ("small.stderr", []),
    ],
)
def test_output_matches_the_golden_file(
    capsys: pytest.CaptureFixture[str], name: str, args: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 0
    got = err if name.endswith(".stderr") else out
    expected = GOLDEN / name
    if UPDATE:
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no {name}; run IVRFLOW_UPDATE_GOLDEN=1 pytest"
    assert got == expected.read_text(encoding="utf-8")


def test_csv_is_one_figure_per_row_and_agrees_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["section", "flow", "item", "metric", "value"]
    _, out_json, _ = run(capsys, "--format", "json")
    data = json.loads(out_json)

    def value(section: str, flow: str, item: str, metric: str) -> str:
        found = [
            r["value"]
            for r in rows
            if (r["section"], r["flow"], r["item"], r["metric"]) == (section, flow, item, metric)
        ]
        assert len(found) == 1, (section, flow, item, metric)
        return found[0]

    assert value("summary", "", "", "calls") == str(data["summary"]["calls"])
    assert value("source", "", "not_json", "malformed") == "1"
    main_menu = next(
        r for r in data["funnel"] if (r["flow"], r["state"]) == ("billing", "main_menu")
    )
    assert value("funnel", "billing", "main_menu", "entered") == str(main_menu["entered"])
    billing = next(r for r in data["queues"] if r["target"] == "billing")
    assert value("queues", "billing", "billing", "transfers") == str(billing["transfers"])


def test_json_has_the_documented_sections(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--format", "json")
    data = json.loads(out)
    assert data["schema"] == "ivrflow.report/1"
    assert set(data) == {
        "schema",
        "source",
        "summary",
        "flows",
        "queues",
        "over_time",
        "time_in_ivr_histogram",
        "funnel",
        "input_states",
        "lookups",
        "queue_leg",
        "notes",
    }
    assert data["source"]["malformed"] == {"not_json": 1, "missing_field": 1, "wrong_type": 0}
    assert data["source"]["records"] == data["summary"]["calls"] == 43
    assert sum(f["calls"] for f in data["flows"]) == 43
    assert sum(b["calls"] for b in data["time_in_ivr_histogram"]["bins"]) == 43
    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    keys = [
        *data["summary"],
        *data["funnel"][0],
        *data["lookups"][0],
        *data["queues"][0],
        *data["input_states"][0],
        *data["over_time"]["rows"][0],
        *data["source"],
    ]
    for key in keys:
        assert f"`{key}`" in docs, f"docs/metrics.md does not define `{key}`"
