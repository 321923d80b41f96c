"""`ivrflow report --callbacks DB` (issue 14): the callback figures of docs/metrics.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivrflow.cli import main
from ivrflow.host.callback_rules import RetryPolicy
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore
from ivrflow.insight.callbacks import figures

ROOT = Path(__file__).resolve().parents[2]
T0 = 1796650000.0


def store_with_history(path: Path) -> None:
    """Four requests: completed after 2 attempts (600 s), completed at once (100 s),
    exhausted after 2 busy, and one still pending."""
    s = SQLiteCallbackStore(path, policy=RetryPolicy(retry_delay=200, max_attempts=2,
                                                     expire_after=1e9))  # fmt: skip
    for n in range(4):
        s.store(CallbackRequest(f"c{n}", "+5511987654321", "billing", None, None, T0, "billing"))
    first = {c.request.call_id: c for c in s.claim("d", T0, limit=10)}
    s.finish_attempt("c0", 1, "no_answer", now=T0 + 50)
    s.finish_attempt("c1", 1, "answered", now=T0 + 100)
    s.finish_attempt("c2", 1, "busy", now=T0 + 50)
    s.release(first["c3"], T0 + 400, "API down")
    second = {c.request.call_id: c for c in s.claim("d", T0 + 400, limit=10)}
    assert set(second) == {"c0", "c2", "c3"}
    s.finish_attempt("c0", 2, "answered", now=T0 + 600)
    s.finish_attempt("c2", 2, "busy", now=T0 + 450)
    s.release(second["c3"], T0 + 900, "API down")
    s.close()


def test_the_figures(tmp_path: Path) -> None:
    db = tmp_path / "cb.db"
    store_with_history(db)
    s = SQLiteCallbackStore(db)
    data = figures(s)
    s.close()
    assert data["requested"] == 4
    assert (data["completed"], data["exhausted"], data["open"]) == (2, 1, 1)
    assert data["completion_rate"] == round(2 / 3, 4)
    assert data["attempts_per_completion"] == 1.5
    assert data["time_to_callback"]["median"] == (100 + 600) / 2
    assert data["attempt_outcomes"] == {"answered": 2, "busy": 2, "no_answer": 1}


def test_report_prints_and_exports_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cb.db"
    store_with_history(db)
    records = str(ROOT / "flows" / "records" / "billing.jsonl")
    assert main(["report", records, "--callbacks", str(db)]) == 0
    out = capsys.readouterr().out
    assert "Callbacks (from the callback store)" in out and "attempts per completion   1.50" in out
    assert main(["report", records, "--callbacks", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["callback_store"]["exhausted"] == 1
    assert main(["report", records, "--callbacks", str(tmp_path / "no" / "x.db")]) == 1
