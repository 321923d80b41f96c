"""Every example flow in flows/ under random callers and failing back ends (issue 6).

A fixed seed and a few thousand calls in all: every call must end with exactly one record
and a valid outcome, within the silence bound, with no Python error swallowed and no
secure value in clear anywhere. A violation prints the scenario that replays it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrflow.tools.fuzzing import fuzz_flow

ROOT = Path(__file__).resolve().parents[2]
FLOWS = sorted((ROOT / "flows").glob("*.ivr"))
SEED = 20261124
CALLS = 750  # per flow: 3,000 calls over the four example flows


@pytest.mark.parametrize("flow", FLOWS, ids=lambda p: p.stem)
def test_every_call_ends_cleanly_under_random_callers(flow: Path) -> None:
    report = fuzz_flow(flow, CALLS, SEED)
    shown = "\n\n".join(f"{v}\n{v.scenario_yaml}" for v in report.violations[:3])
    assert report.violations == [], shown
    assert report.calls == CALLS
    assert report.records == CALLS and report.records_lost == 0
    assert report.secrets_leaked == 0
    assert sum(report.outcomes.values()) == CALLS
    # The run is not trivially short: callers get past the first menu and end many ways.
    # The outbound flow is one menu (agent now or later) behind its callback window: a
    # random time mostly ends at that gate, and the calls past it take one input or more.
    # It has no look-up to fail either, so no error outcome: three ways to end.
    if flow.stem == "callback_invoice":
        assert report.steps > CALLS - report.states["window_closed"]
        assert set(report.outcomes) == {"self_served", "transferred", "abandoned"}
    else:
        assert report.steps > 2 * CALLS
        assert len(report.outcomes) >= 4, report.outcomes
    assert report.state_coverage >= 0.75, sorted(set(report.states))


def test_the_flows_with_secure_captures_had_them_audited() -> None:
    secure = [f for f in FLOWS if " secure" in f.read_text(encoding="utf-8")]
    assert secure, "the examples include card and PIN captures"
    for flow in secure:
        report = fuzz_flow(flow, 300, SEED)
        assert report.secure_calls > 0, flow.name
        assert report.secrets_leaked == 0


def test_the_shipped_scenarios_keep_every_invariant_and_end_when_the_caller_stops() -> None:
    """Each scenario's caller, then silence: the same checks as a fuzzed call."""
    from ivrflow.tools.fuzzing import replay

    files = sorted((ROOT / "flows" / "tests" / "scenarios").glob("*.yaml"))
    assert len(files) >= 100
    broken = {f.name: problems for f in files if (problems := replay(f))}
    assert broken == {}
