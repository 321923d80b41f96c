"""The caller fuzzer: deterministic runs, the silence bound, violations that replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import LOOPING

from ivrflow.compiler import load
from ivrflow.tools import scenarios
from ivrflow.tools.fuzzing import INVARIANTS, fuzz_flow, replay, silence_bound

ROOT = Path(__file__).resolve().parents[2]
BILLING = ROOT / "flows" / "billing.ivr"


@pytest.fixture
def looping(tmp_path: Path) -> Path:
    path = tmp_path / "looping.ivr"
    path.write_text(LOOPING, encoding="utf-8")
    return path


def test_a_fuzz_run_on_billing_keeps_every_invariant() -> None:
    report = fuzz_flow(BILLING, 120, seed=3)
    assert report.calls == 120
    assert report.records == 120 and report.records_lost == 0
    assert report.secrets_leaked == 0
    assert report.violations == [], [str(v) for v in report.violations[:3]]
    assert sum(report.outcomes.values()) == 120
    # The mix reaches every kind of ending, not only the first menu.
    assert {"self_served", "abandoned", "error", "callback_scheduled"} <= set(report.outcomes)


def test_the_same_seed_places_the_same_calls() -> None:
    one = fuzz_flow(BILLING, 40, seed=11)
    two = fuzz_flow(BILLING, 40, seed=11)
    other = fuzz_flow(BILLING, 40, seed=12)
    assert (one.outcomes, one.steps, one.personas) == (two.outcomes, two.steps, two.personas)
    assert (one.outcomes, one.steps) != (other.outcomes, other.steps)


def test_the_silence_bound_comes_from_the_flow(looping: Path) -> None:
    flow = load(looping)
    bound = silence_bound(flow)
    # Two menus, retries 2, each visited at most twice while silent: 8 no-inputs (+1).
    assert bound.waits == 2 * 2 * 2 + 1
    # Each of those waits is at least the 5 s timeout.
    assert bound.seconds >= 8 * 5
    bigger = silence_bound(load(BILLING))
    assert bigger.waits > bound.waits


def test_a_flow_that_never_lets_a_silent_caller_go_is_reported_with_its_loop(
    looping: Path,
) -> None:
    report = fuzz_flow(looping, 60, seed=0)
    silent = [v for v in report.violations if v.invariant == "ends-when-silent"]
    assert silent, "some of 60 callers go silent before pressing 1"
    v = silent[0]
    assert str(v).startswith(f"seed=0 call={v.call} ends-when-silent: ")
    assert "ask_a → ask_b" in v.message or "ask_b → ask_a" in v.message
    # A call that never ends has no record: the report counts it lost.
    assert report.records_lost == len({x.call for x in silent})
    assert not report.ok


def test_a_violation_scenario_is_a_valid_scenario_that_fails_the_same_way(
    looping: Path, tmp_path: Path
) -> None:
    report = fuzz_flow(looping, 60, seed=0)
    v = next(v for v in report.violations if v.invariant == "ends-when-silent")
    target = tmp_path / "case.yaml"
    target.write_text(v.scenario_yaml, encoding="utf-8")
    assert v.scenario_yaml.startswith(f"# ivrflow fuzz: seed=0 call={v.call} ends-when-silent")
    scenario = scenarios.load(target)
    result = scenarios.run(scenario)
    assert not result.passed
    assert result.failure is not None and "did not end" in result.failure.message
    problems = replay(target)
    assert [name for name, _ in problems] == ["ends-when-silent"]


def test_every_invariant_is_named_and_documented() -> None:
    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    for name in INVARIANTS:
        assert f"`{name}`" in doc, name


def test_without_faults_back_ends_answer_from_the_fixtures() -> None:
    report = fuzz_flow(BILLING, 60, seed=5, faults=False)
    assert report.ok
    assert report.records == 60


def test_an_exception_out_of_the_driver_is_a_no_crash_violation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ivrflow.tools.testing import Call

    def broken(self: Call, keys: str) -> list[object]:
        raise RuntimeError("the driver broke")

    monkeypatch.setattr(Call, "press", broken)
    report = fuzz_flow(BILLING, 20, seed=1)
    crashes = [v for v in report.violations if v.invariant == "no-crash"]
    assert crashes and "RuntimeError: the driver broke" in crashes[0].message
    assert report.records_lost > 0


def test_a_python_error_the_session_swallowed_is_still_a_violation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ivrflow.runtime import events, session

    def broken(self: session.Session, event: object) -> None:
        raise TypeError("unsupported operand")

    # The session dispatches through its handler table: break the one for keys.
    monkeypatch.setitem(session._HANDLERS, events.Digits, broken)
    report = fuzz_flow(BILLING, 30, seed=2)
    internal = [v for v in report.violations if v.invariant == "no-internal-error"]
    assert internal and "TypeError: unsupported operand" in internal[0].message
    # The call still ended with one record: the guard worked, the invariant flags the bug.
    assert report.records_lost == 0
    assert "errors:" in internal[0].scenario_yaml


@pytest.mark.parametrize("flow", ["billing.ivr", "bank.ivr"])
def test_every_fuzzed_call_replays_identically_from_its_scenario(flow: str, tmp_path: Path) -> None:
    """The promise behind every violation's scenario: it is the same call, faults and all."""
    from ivrflow.tools.fuzzing.repro import scenario_yaml
    from ivrflow.tools.fuzzing.runner import fuzzed_calls

    compiled = load(ROOT / "flows" / flow)
    for call in fuzzed_calls(compiled, 40, seed=8, snapshots=False):
        text = scenario_yaml(
            flow_path=str(ROOT / "flows" / flow),
            setup=call.setup,
            steps=call.result.steps,
            seed=8,
            call=call.index,
            invariant="replay",
            message="a check of the scenario format",
            observed=call.result.observed,
        )
        path = tmp_path / f"call{call.index}.yaml"
        path.write_text(text, encoding="utf-8")
        replayed = scenarios.run(scenarios.load(path))
        assert replayed.passed, (call.index, replayed.failure)
        assert replayed.call is not None
        assert replayed.call.record == call.result.record, call.index
