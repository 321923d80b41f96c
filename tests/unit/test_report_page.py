"""The supervisor's page (issue 13): title, headline figures against targets with
red/amber/green, and the change against the previous period of the same length."""

from __future__ import annotations

import json
from pathlib import Path

from test_queue_report import record

from ivrflow.cli import main
from ivrflow.insight.headline import Target, status


def test_status_is_green_amber_red_by_the_target() -> None:
    higher = Target("summary.containment_rate", "Containment", "pct", "higher", 0.30)
    assert [status(higher, v) for v in (0.31, 0.30, 0.28, 0.26, None)] == [
        "green", "green", "amber", "red", "none",
    ]  # fmt: skip
    lower = Target("queue_leg.asa_s", "ASA", "s", "lower", 30.0)
    assert [status(lower, v) for v in (12.0, 30.0, 32.0, 40.0)] == [
        "green", "green", "amber", "red",
    ]  # fmt: skip


def week(first_day: int, waits: list[float]) -> list[dict]:
    out = []
    for n, wait in enumerate(waits):
        rec = record(n, "answered", wait)
        for key in ("started_at",):
            rec[key] = rec[key].replace("2026-11-16", f"2026-11-{first_day:02d}")
        rec["queue"]["queued_at"] = rec["queue"]["queued_at"].replace(
            "2026-11-16", f"2026-11-{first_day:02d}"
        )
        rec["call_id"] = f"w{first_day}-{n}"
        out.append(rec)
    return out


def test_the_page_has_title_headline_and_change_vs_the_previous_period(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    earlier = week(9, [40.0, 50.0])  # ASA 45 s the week before
    now = week(16, [10.0, 20.0])  # ASA 15 s
    records.write_text("".join(json.dumps(r) + "\n" for r in earlier + now), encoding="utf-8")
    page = tmp_path / "p.html"
    code = main(["report", str(records), "--since", "2026-11-16", "--until", "2026-11-22",
                 "--html", str(page), "--format", "json"])  # fmt: skip
    assert code == 0
    text = page.read_text(encoding="utf-8")
    assert "<title>IVR report — billing — 2026-11-16 to 2026-11-22 (UTC)</title>" in text
    assert "<pre>" not in text  # the summary is a table now
    asa = text[text.index('<div class="label">ASA</div>') :][:600]
    assert "15.0 s" in asa and "green" in asa
    assert "-30.0 s vs previous period (better)" in asa
    assert "Abandoned in queue" in text and "Service level (20 s)" in text


def test_without_a_previous_period_the_page_says_so(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in week(16, [10.0])), "utf-8")
    page = tmp_path / "p.html"
    assert main(["report", str(records), "--html", str(page), "--format", "json"]) == 0
    assert "no previous period of the same length" in page.read_text(encoding="utf-8")
