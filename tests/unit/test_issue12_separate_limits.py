"""Issue 12, item 5: separate no-input and no-match limits and exits, and `counts reset`.

The docs' own example (docs/language.md, "Separate limits for no-input and no-match") is run
here, so what the page says is what a call does; the traffic walk, the drawings and coverage
must see the new exits, and none that can never be taken.
"""

from __future__ import annotations

import random
import re
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from ivrflow import compile_file
from ivrflow.model import Flow, InputSettings
from ivrflow.model.escalation import escalate, exhausted_reachable, spent
from ivrflow.tools.coverage import CoverageListener, FlowCoverage
from ivrflow.tools.flowgraph import edges
from ivrflow.tools.testing import Call
from ivrflow.traffic.model import parse_model
from ivrflow.traffic.walk import END, QUEUE, TRANSFER, Walker

ROOT = Path(__file__).resolve().parents[2]


def _docs_example() -> str:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("#### Separate limits for no-input and no-match", 1)[1]
    match = re.search(r"```ivr\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def _compile(text: str, clean: bool = True) -> Flow:
    result = compile_file("limits.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [str(d) for d in result.diagnostics]
    assert not clean or not result.diagnostics, [str(d) for d in result.diagnostics]
    return result.flow


DOCS = _compile(_docs_example())


def _play(flow: Flow, script: str) -> Call:
    """`w` waits (a no-input), any key is pressed."""
    call = Call(flow)
    call.start()
    for step in script:
        if call.ended:
            break
        if step == "w":
            call.wait()
        else:
            call.press(step)
    return call


def test_the_settings_read_as_written() -> None:
    menu = DOCS.states["main_menu"]
    assert menu.input.noinput_limit == 2 and menu.input.nomatch_limit == 3  # type: ignore[union-attr]
    assert menu.input.retries == 4  # type: ignore[union-attr]  # never binds: 2 + 3 - 1
    assert menu.input.reset  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        ("ww", {"kind": "self_served", "reason": "silent caller"}),  # two no-inputs
        ("999", {"kind": "transferred", "queue": "support"}),  # three no-matches
        ("9w9w", {"kind": "self_served", "reason": "silent caller"}),  # mixed: no-input first
        ("w99", None),  # one no-input, two no-matches: still asking
        ("w99" + "9", {"kind": "transferred", "queue": "support"}),
    ],
)
def test_each_kind_has_its_own_limit_and_exit(script: str, outcome: dict[str, str] | None) -> None:
    call = _play(DOCS, script)
    if outcome is None:
        assert not call.ended and call.state == "main_menu"
    else:
        assert call.outcome is not None
        assert {k: call.outcome[k] for k in outcome} == outcome


def test_counts_reset_after_a_valid_input() -> None:
    # w, *: the repeat is a valid input, so the no-input count starts again from zero.
    call = _play(DOCS, "w*w")
    assert not call.ended
    call.wait()
    assert call.outcome == {"kind": "self_served", "reason": "silent caller"}
    kept = _compile(_docs_example().replace("  counts reset\n", ""))
    assert _play(kept, "w*w").outcome == {"kind": "self_served", "reason": "silent caller"}


def test_a_combined_limit_beside_one_kinds_own() -> None:
    flow = _compile(
        _docs_example()
        .replace("retries noinput 2, nomatch 3", "retries 3, noinput 2")
        .replace("  nomatch exhausted -> agent\n", "  exhausted -> agent\n")
        .replace("  counts reset\n", "")
    )
    assert _play(flow, "ww").outcome == {"kind": "self_served", "reason": "silent caller"}
    # Two no-matches and a no-input: the combined limit, not the no-input one.
    assert _play(flow, "99w").outcome == {"kind": "transferred", "queue": "support"}
    assert _play(flow, "999").outcome == {"kind": "transferred", "queue": "support"}


def test_a_kinds_limit_without_its_own_exit_takes_exhausted() -> None:
    flow = _compile(
        _docs_example().replace("  noinput exhausted -> no_answer\n", "  exhausted -> agent\n"),
        clean=False,  # no_answer is left unreached
    )
    call = _play(flow, "ww")
    assert call.outcome == {"kind": "transferred", "queue": "support"}
    assert not any(e.key.startswith("main_menu -> no_answer") for e in edges(flow))


def test_the_rule_itself() -> None:
    limits = InputSettings(5, 3, 4, 0.5, noinput_limit=2, nomatch_limit=3)
    assert spent(1, 2, limits) is None
    assert spent(2, 0, limits) == "noinput" and spent(0, 3, limits) == "nomatch"
    assert spent(1, 3, limits) == "nomatch"
    assert not exhausted_reachable(limits, {"noinput": (), "nomatch": ()})
    assert exhausted_reachable(limits, {"noinput": ()})  # no-matches fall back to it
    menu = DOCS.states["main_menu"]
    # `noinput:` on the second no-input (its last) re-prompts: skipped, the exit follows.
    assert escalate(menu.noinput, "noinput", 2, 0, menu.input, "main_menu") == (None, "", True)  # type: ignore[union-attr]


def test_graph_and_coverage_see_the_exits_and_no_untakeable_default() -> None:
    keys = {e.key for e in edges(DOCS)}
    assert "main_menu -> no_answer [noinput exhausted]" in keys
    assert "main_menu -> agent [nomatch exhausted]" in keys
    assert not any("(error)" in k and "exhausted" in k for k in keys)
    cov = FlowCoverage.of("limits.ivr", DOCS)
    for script in ("ww", "999", "1", "*1"):
        call = Call(DOCS)
        call.session.listeners = (CoverageListener(cov),)
        call.start()
        for step in script:
            call.wait() if step == "w" else call.press(step)
    assert cov.unknown_edges == {}
    missed = [k for k, n in cov.edges.items() if n == 0]
    assert missed == [], missed  # four calls take every edge, the two exits included


def test_the_traffic_walk_agrees_with_the_interpreter() -> None:
    model = parse_model(
        "caller: {noinput: 0.35, nomatch: 0.3, hangup: 0}\n"
        "states: {main_menu: {choices: {'1': 0.7, '*': 0.3}}}\n"
        "queues: {support: {agents: 2, aht: 100}}\n"
    )
    walker = Walker(DOCS, model)
    rng = random.Random(3)
    walked: Counter[str] = Counter()
    for _ in range(6000):
        _, kind, target, _ = walker.walk(walker.start(rng.random), walker.hours_id(0.0), rng.random)
        if kind in (QUEUE, TRANSFER):
            walked["queue"] += 1
        else:
            assert kind == END
            walked[f"{target[0]} {target[1]}"] += 1
    real: Counter[str] = Counter()
    for _ in range(3000):
        script = "".join(
            rng.choices(["w", "9", "1", "*"], [0.35, 0.3, 0.35 * 0.7, 0.35 * 0.3])[0]
            for _ in range(60)
        )
        call = _play(DOCS, script)
        assert call.ended, script
        assert call.outcome is not None
        real["queue" if call.outcome["kind"] == "transferred" else "self_served silent caller"] += 1
    for name in real:
        a, b = real[name] / 3000, walked[name] / 6000
        assert abs(a - b) < 0.03, (name, a, b, real, walked)
