"""`ivrflow report` as a user runs it: the repository's records, stdin, gzip, bad lines,
exit codes, and the HTML page opened in headless Chromium."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from browser import open_in_chromium
from conftest import ROOT, Run, cli_env

RECORDS = sorted(str(p) for p in (ROOT / "flows" / "records").glob("*.jsonl"))


def test_report_on_the_repository_records(run: Run) -> None:
    result = run("report", *RECORDS)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("Calls: 3,700")
    for heading in ("Per flow", "Transfers per queue", "Over time (by day, UTC)", "Look-ups"):
        assert f"\n{heading}" in out
    assert "Callbacks: " in out and "accepted" in out  # flows found beside the records


def test_json_figures_add_up(run: Run) -> None:
    result = run("report", *RECORDS, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    s = data["summary"]
    outcomes = ("self_served", "transferred", "callback_scheduled", "abandoned", "error")
    assert sum(s[k] for k in outcomes) == s["calls"] == 3700
    assert sum(f["calls"] for f in data["flows"]) == 3700
    assert sum(r["calls"] for r in data["over_time"]["rows"]) == 3700
    abandoned_by_state = sum(r["abandoned"] for r in data["funnel"])
    assert abandoned_by_state == s["abandoned"]  # every hang-up is placed in a state
    assert {f["flow"] for f in data["flows"]} == {
        "appointments",
        "bank",
        "billing",
        "telecom_support",
    }
    assert s["callbacks_accepted"] <= s["callbacks_offered"]


def test_filters_and_hourly_grouping(run: Run) -> None:
    result = run(
        "report",
        *RECORDS,
        "--format",
        "json",
        "--dnis",
        "+18885550142",
        "--since",
        "2026-11-17",
        "--until",
        "2026-11-17",
        "--tz",
        "America/Sao_Paulo",
        "--by",
        "hour",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [f["flow"] for f in data["flows"]] == ["billing"]  # the English billing line only
    periods = [r["period"] for r in data["over_time"]["rows"]]
    assert all(p.startswith("2026-11-17 ") for p in periods)
    assert data["source"]["used"] == data["summary"]["calls"] > 0
    assert data["source"]["filtered_out"] == 3700 - data["summary"]["calls"]


def test_stdin_and_gzip_give_the_same_report_as_the_file(run: Run, tmp_path: Path) -> None:
    billing = ROOT / "flows" / "records" / "billing.jsonl"
    packed = tmp_path / "billing.jsonl.gz"
    packed.write_bytes(gzip.compress(billing.read_bytes()))
    by_file = json.loads(run("report", str(billing), "--format", "json").stdout)
    by_gzip = json.loads(
        run("report", str(packed), "--format", "json", "--flows", str(ROOT / "flows")).stdout
    )
    flows = str(ROOT / "flows")

    def from_stdin(*options: str) -> dict[str, object]:
        piped = subprocess.run(
            [sys.executable, "-m", "ivrflow", "report", "-", "--format", "json", *options],
            input=billing.read_bytes(),
            capture_output=True,
            env=cli_env(),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert piped.returncode == 0, piped.stderr
        data: dict[str, object] = json.loads(piped.stdout)
        return data

    assert by_gzip["summary"] == by_file["summary"]
    assert from_stdin("--flows", flows)["summary"] == by_file["summary"]
    # Nothing to look beside: without --flows, offers are unknown, and the report says so.
    blind = from_stdin()
    assert blind["summary"]["callbacks_offered"] is None  # type: ignore[index]
    assert any("Flow file not found for billing" in n for n in blind["notes"])  # type: ignore[attr-defined]


def test_csv_is_a_long_table(run: Run) -> None:
    result = run("report", RECORDS[0], "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["section", "flow", "item", "metric", "value"]
    assert all(len(r) == 5 for r in rows)
    assert {r[0] for r in rows[1:]} >= {"source", "summary", "flows", "funnel", "lookups"}


def test_malformed_lines_are_reported_and_strict_fails(run: Run, tmp_path: Path) -> None:
    good = (ROOT / "flows" / "records" / "bank.jsonl").read_text(encoding="utf-8").splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        "\n".join([good[0], "garbage", good[1], '{"call_id": 1}', good[2]]) + "\n",
        encoding="utf-8",
    )
    result = run("report", str(mixed))
    assert result.returncode == 0
    assert result.stdout.startswith("Calls: 3 ")
    assert "2 malformed lines of 5 skipped (1 not JSON, 1 wrong type)" in result.stderr
    assert f"{mixed}:2: not JSON" in result.stderr
    assert f"{mixed}:4: field 'call_id' is int" in result.stderr

    strict = run("report", str(mixed), "--strict")
    assert strict.returncode == 1
    assert strict.stdout == ""


def test_exit_codes(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not a record\n", encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert run("report", str(junk)).returncode == 1
    assert run("report", str(empty)).returncode == 1
    assert "no usable records" in run("report", str(empty)).stderr
    missing = run("report", str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert run("report", RECORDS[0], "--since", "monday").returncode == 2
    assert run("report", RECORDS[0], "--tz", "Mars/Olympus").returncode == 2
    assert run("report", RECORDS[0], "--format", "xml").returncode == 2
    nothing = run("report", RECORDS[0], "--dnis", "+10000000000")
    assert nothing.returncode == 0 and "no record matches the filters" in nothing.stderr


def test_html_page_opens_in_chromium_without_errors(run: Run, tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    result = run("report", *RECORDS, "--html", str(page_file), "--by", "hour")
    assert result.returncode == 0, result.stderr
    text = page_file.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    page = open_in_chromium(page_file)
    assert page.errors == []
    for seen in (
        "Funnel — billing: calls entering each state",
        "Outcomes by hour (UTC)",
        "Time in IVR (seconds, from the start to transfer or hang-up)",
        "Where callers hang up — telecom_support",
        "Transfers per queue",
    ):
        assert seen in page.dom


def test_flows_are_found_beside_the_records_or_named(run: Run, tmp_path: Path) -> None:
    copied = tmp_path / "billing.jsonl"
    copied.write_bytes((ROOT / "flows" / "records" / "billing.jsonl").read_bytes())
    # The counts follow the sample records (regenerated whenever a flow changes): what is
    # tested is that the offers are known only with the flow, and the same either way.
    records = [json.loads(line) for line in copied.read_text(encoding="utf-8").splitlines()]
    scheduled = sum(1 for r in records if r["outcome"]["kind"] == "callback_scheduled")
    alone = run("report", str(copied))
    assert f"Callbacks: {scheduled} scheduled (offers: flow unknown)" in alone.stdout
    assert "Flow file not found for billing" in alone.stdout
    named = run("report", str(copied), "--flows", str(ROOT / "flows" / "billing.ivr"))
    found = re.search(
        r"Callbacks: \d+ calls offered one, \d+ accepted .*, (\d+) scheduled", named.stdout
    )
    assert found is not None and int(found[1]) == scheduled, named.stdout
    beside = run("report", str(ROOT / "flows" / "records" / "billing.jsonl"))
    assert found[0] in beside.stdout
