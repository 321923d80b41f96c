"""`ivrflow explore`: golden output on a small flow, bounds, billing, emitted scenarios.

The golden files are the exact text and JSON of

    ivrflow explore tests/explore_golden/flows/mini.ivr [--format json]

run from the repository root. To rewrite them from the current explorer (then READ the diff):

    IVRFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_explore.py
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml

import ivrflow
from ivrflow import model
from ivrflow.cli import main
from ivrflow.host.fixtures import Fixtures
from ivrflow.model import validators
from ivrflow.runtime.record import OUTCOMES
from ivrflow.tools import explore as ex

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "explore_golden"
MINI = "tests/explore_golden/flows/mini.ivr"
UPDATE = os.environ.get("IVRFLOW_UPDATE_GOLDEN") == "1"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no {name}: run with IVRFLOW_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; IVRFLOW_UPDATE_GOLDEN=1 rewrites it"


# ---------------------------------------------------------------- golden output


def test_golden_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run_cli(["explore", MINI], capsys)
    assert code == 0
    check_golden("mini.txt", out)


def test_golden_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run_cli(["explore", MINI, "--format", "json"], capsys)
    assert code == 0
    check_golden("mini.json", out)
    data = json.loads(out)
    assert data["flow"] == MINI
    assert set(data["outcomes"]) == set(OUTCOMES)
    assert data["never_reached"] == {"states": [], "outcomes": []}
    assert len(data["setups"]) == 8
    assert all("tree" in s for s in data["setups"])


def test_the_mini_flow_reaches_everything() -> None:
    found = ex.explore(ivrflow.load(REPO / MINI), path=MINI)
    assert found.never_reached_states == []
    assert found.never_reached_outcomes == []
    assert all(found.outcome_counts[o] > 0 for o in OUTCOMES)
    # Setups are separate roots: callers x (office hours, night, holiday, emergency).
    whens = [t.setup.when for t in found.trees]
    assert (
        whens
        == ["office hours"] * 2
        + ["night"] * 2
        + ["holiday Christmas Day"] * 2
        + ["emergency office"] * 2
    )
    assert [t.setup.caller for t in found.trees] == ["regular", "vip"] * 4


def test_summary_only_and_json_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run_cli(["explore", MINI, "--summary"], capsys)
    assert code == 0
    assert "setup 1:" not in out and "outcomes:" in out
    assert out.rstrip().endswith(
        "never reached: nothing (every state and every outcome kind is reached)"
    )
    code, out, _ = run_cli(["explore", MINI, "--summary", "--format", "json"], capsys)
    data = json.loads(out)
    assert all("tree" not in s for s in data["setups"])


def test_snapshot_forks_give_the_same_tree() -> None:
    """The explorer copies sessions itself for speed; to_dict/from_dict must agree."""
    for path in (REPO / MINI, REPO / "flows" / "bank.ivr"):
        flow = ivrflow.load(path)
        fast = ex.render_text(ex.Explorer(flow, path="x").run())
        slow = ex.render_text(ex.Explorer(flow, path="x", snapshots=True).run())
        assert fast == slow


# ---------------------------------------------------------------- bounds


LOOPY = """\
flow loopy "Loops for the explorer"
  timeout 5s, retries 3

queue desk
var trail = ""
var n = 0

start:
  -> a

menu a:
  say "Trail {{ trail }}. Press 1 to go round, 2 to count, 0 for an agent."
  1:
    set trail = trail + "a"
    -> a
  2:
    set n = n + 1
    -> a
  0 -> agent
  noinput: say "Press a key."
  nomatch: say "No such key."
  exhausted -> agent

transfer agent:
  queue desk
"""


@pytest.fixture
def loopy(tmp_path: Path) -> model.Flow:
    path = tmp_path / "loopy.ivr"
    path.write_text(LOOPY, encoding="utf-8")
    return ivrflow.load(path)


def _inputs(trail: list[ex.Node]) -> int:
    return sum(1 for n in trail if n.kind == "input")


def test_loop_bound(loopy: model.Flow) -> None:
    """`1` changes a variable that is not a counter: the same (state, counters) comes back,
    and the path is cut on the (max_loops + 1)-th visit."""
    for loops in (1, 2, 3):
        found = ex.explore(loopy, max_loops=loops, max_depth=12)
        cut = [t for _, t in found.leaves() if t[-1].end == ex.LOOP]
        assert cut, f"no loop cut with max_loops={loops}"
        for trail in cut:
            assert trail[-1].detail == f"a {ex._ordinal(loops + 1)} time"
        text = ex.render_text(found)
        assert f"✂ loop bound: a {ex._ordinal(loops + 1)} time" in text
        assert f"at most {loops} times per path" in text
        # along any path, `1` is pressed at most max_loops times in a row from a fresh a
        for _, trail in found.leaves():
            ones = 0
            for node in trail:
                ones = ones + 1 if node.label == "1" else 0
                assert ones <= loops


def test_depth_bound(loopy: model.Flow) -> None:
    """`2` counts up: every visit is a new (state, counters); only the depth bound stops it."""
    for depth in (1, 3, 6):
        found = ex.explore(loopy, max_depth=depth)
        leaves = list(found.leaves())
        assert all(_inputs(t) <= depth for _, t in leaves)
        cut = [t for _, t in leaves if t[-1].end == ex.DEPTH]
        assert cut and all(_inputs(t) == depth for t in cut)
        assert f"✂ depth bound: {depth} inputs" in ex.render_text(found)
        assert found.leaf_counts[ex.DEPTH] == len(cut)
        assert f"{len(cut)} cut by the depth bound" in "\n".join(ex.summary_lines(found))


def test_max_paths_stops_with_a_note(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    found = ex.explore(ivrflow.load(REPO / MINI), max_paths=5)
    assert found.stopped
    assert found.leaf_counts[ex.ENDED] == 5
    assert found.leaf_counts[ex.STOPPED] > 0
    code, out, _ = run_cli(["explore", MINI, "--max-paths", "5", "--summary"], capsys)
    assert code == 0
    assert "stopped: --max-paths 5 reached; the counts cover what was explored" in out
    assert "paths: 5 ended;" in out


def test_bad_options_and_bad_flows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["explore", MINI, "--max-depth", "0"])
    assert exit_info.value.code == 2
    capsys.readouterr()
    broken = tmp_path / "broken.ivr"
    broken.write_text("flow broken\n\nstart:\n  -> nowhere\n", encoding="utf-8")
    code, out, err = run_cli(["explore", str(broken)], capsys)
    assert code == 1 and "nowhere" in err and out == ""
    module = tmp_path / "lib.ivr"
    module.write_text("module lib\n\nqueue q\n", encoding="utf-8")
    code, _, err = run_cli(["explore", str(module)], capsys)
    assert code == 2 and "module" in err


# ---------------------------------------------------------------- billing


@pytest.fixture(scope="module")
def billing() -> ex.Exploration:
    flow = ivrflow.load(REPO / "flows" / "billing.ivr")
    return ex.explore(flow, path="flows/billing.ivr")


def test_billing_reaches_every_outcome_and_state(billing: ex.Exploration) -> None:
    found = billing
    counts = found.outcome_counts
    assert all(counts[o] > 0 for o in OUTCOMES), counts
    assert found.never_reached_outcomes == []
    assert found.never_reached_states == []
    assert found.leaf_counts[ex.DEPTH] == 0  # 40 inputs is deep enough for billing
    summary = "\n".join(ex.summary_lines(found))
    assert "never reached: nothing" in summary


def test_billing_setups(billing: ex.Exploration) -> None:
    found = billing
    callers = {t.setup.caller for t in found.trees}
    assert callers == {"regular", "vip", "blocked", "withheld", "english_line"}
    whens = {t.setup.when for t in found.trees}
    assert whens == {
        "office hours",
        "night",
        "holiday Natal",
        "emergency office",
        "emergency office_us",
        "emergency callback_window",
    }
    # the blocked caller is turned away whatever the time
    for t in found.trees:
        if t.setup.caller == "blocked" and t.root.end == ex.ENDED:
            assert t.root.outcome == {"kind": "self_served", "reason": "blocked_caller"}


def test_billing_inputs_come_from_the_rules(billing: ex.Exploration) -> None:
    found = billing
    labels = {(n.label, n.note) for t in found.trees for n in ex._preorder(t.root)}
    # the fixtures' contracts and cards, a generated valid entry, a broken check digit
    assert ("79927398713#", "from fixtures") in labels
    assert ("4111111111111111", "from fixtures") in labels
    assert any(note == "fails luhn" for _, note in labels)
    assert any(note == "fails date" for _, note in labels)  # card expiry MMYY
    assert ("0328", "valid") in labels
    # the callback number for withheld callers matches the flow's regex
    regex = "^[1-9][0-9]9?[2-9][0-9]{7}$"
    entries = [label for label, note in labels if note == "valid" and label.endswith("#")]
    assert any(validators.regex(e[:-1], regex) for e in entries)
    hosts = {n.label for t in found.trees for n in ex._preorder(t.root) if n.kind == "host"}
    assert '⟨fetch_account: error "not found"⟩' in hosts
    assert "⟨transfer: busy⟩" in hosts and "⟨transfer: failed⟩" in hosts
    assert "⟨callback store: fails⟩" in hosts
    assert "⟨queue billing: ewt 0s, position 1⟩" in hosts


def test_billing_scenarios_replay(billing: ex.Exploration, tmp_path: Path) -> None:
    from ivrflow.tools import scenarios

    found = billing
    paths = list(found.paths())
    sample = paths[:: max(1, len(paths) // 60)]
    for setup, trail in sample:
        file = tmp_path / ex.scenario_file_name(found, trail[-1])
        file.write_text(ex.scenario_text(found, setup, trail, tmp_path), encoding="utf-8")
        result = scenarios.run_file(file)
        assert result.passed, f"{file.name}\n{result.details()}"


# ---------------------------------------------------------------- emitted scenarios

STEP_KINDS = {"press", "say", "wait", "hangup", "expect_state"}


def test_emitted_scenarios_are_in_the_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out_dir = tmp_path / "scenarios"
    code, out, _ = run_cli(["explore", MINI, "--summary", "--emit-scenarios", str(out_dir)], capsys)
    assert code == 0
    files = sorted(out_dir.glob("*.yaml"))
    found = ex.explore(ivrflow.load(REPO / MINI))
    assert len(files) == found.leaf_counts[ex.ENDED] > 0
    assert f"wrote {len(files)} scenarios to {out_dir}/" in out
    flow = ivrflow.load(REPO / MINI)
    seen_outcomes = set()
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert set(data) == {"flow", "name", "call", "steps", "expect"}
        assert (file.parent / data["flow"]).resolve() == (REPO / MINI).resolve()
        assert not Path(data["flow"]).is_absolute()
        call = data["call"]
        assert set(call) <= {
            "ani", "caller", "dnis", "at", "emergency", "lookups", "queues", "transfer",
            "callback_store", "seed", "fixtures",
        }  # fmt: skip
        assert call["caller"] in ("regular", "vip")
        assert ivrflow.testing.epoch(call["at"]) > 0  # an ISO time with an offset
        for step in data["steps"]:
            if isinstance(step, str):
                assert step in ("wait", "hangup")
            else:
                ((kind, value),) = step.items()
                assert kind in STEP_KINDS
                if kind == "expect_state":
                    assert value in flow.states
                elif kind == "press":
                    assert isinstance(value, str) and set(value) <= set("0123456789*#")
        assert isinstance(data["steps"][0], dict) and "expect_state" in data["steps"][0]
        assert data["expect"]["outcome"] in OUTCOMES
        seen_outcomes.add(data["expect"]["outcome"])
        assert file.name.endswith(f"-{data['expect']['outcome']}.yaml")
    assert seen_outcomes == set(OUTCOMES)


def test_emitted_scenarios_pass_the_runner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivrflow.tools import scenarios

    monkeypatch.chdir(REPO)
    out_dir = tmp_path / "scenarios"
    found = ex.explore(ivrflow.load(REPO / MINI), path=MINI)
    files = ex.write_scenarios(found, out_dir)
    for file in files:
        result = scenarios.run_file(file)
        assert result.passed, f"{file.name}\n{result.details()}"
    code, out, _ = run_cli(["test", str(out_dir)], capsys)
    assert code == 0, out
    assert f"{len(files)} passed, 0 failed" in out


def test_emitted_scenarios_with_explicit_fixtures_and_generated_callers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No fixtures file beside the flow: generated callers (a list member, withheld) and
    `--fixtures` named in each scenario."""
    flow_dir = tmp_path / "flows"
    flow_dir.mkdir()
    (flow_dir / "tiny.ivr").write_text(
        textwrap.dedent(
            """\
            flow tiny "Tiny"
              country US
              retries 2

            list vip ["+12125550100"]
            queue desk
            function greet(ani)

            start:
              if ani is withheld:
                hangup "withheld"
              if ani in vip -> desk
              -> hello

            lookup hello greet(ani) as g:
              ok:
                say "Hello {{ g.name }}."
                hangup "greeted"
              error -> desk

            transfer desk:
              queue desk
            """
        ),
        encoding="utf-8",
    )
    fixtures = tmp_path / "answers.yaml"
    fixtures.write_text('lookups:\n  greet:\n    - result: {name: "Ana"}\n', encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(
        [
            "explore",
            str(flow_dir / "tiny.ivr"),
            "--fixtures",
            str(fixtures),
            "--emit-scenarios",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0
    assert "setup 1: caller (ani +5511912345678) — default time" in out
    assert "setup 2: withheld (ani withheld) — default time" in out
    assert "setup 3: ani in vip (ani +12125550100) — default time" in out
    # no callback offer, and the caller is never asked anything, so never hangs up
    assert "never reached:\n  outcomes: callback_scheduled, abandoned\n" in out
    files = sorted(out_dir.glob("*.yaml"))
    datas = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    assert all(d["call"]["fixtures"] == "../answers.yaml" for d in datas)
    # the VIP goes straight to the desk: the same call state the default caller's failed
    # greeting reaches, so its setup joins that one and adds no path of its own
    assert {d["call"]["ani"] for d in datas} == {"+5511912345678", None}
    assert "  call starts → desk  = same call state as @1" in out
    from ivrflow.tools import scenarios

    for file in files:
        result = scenarios.run_file(file)
        assert result.passed, f"{file.name}\n{result.details()}"


# ---------------------------------------------------------------- entries from the rules


def _capture(
    digits: tuple[int, int], *rules: tuple[str, tuple[object, ...]], end: str | None = None
) -> model.Capture:
    where = model.Where("x.ivr", None)  # type: ignore[arg-type]
    settings = model.InputSettings(5, 3, 3, 0.5)
    return model.Capture(
        "c", where, (), "c", digits[0], digits[1], end,
        tuple(model.Validator(name, args, where) for name, args in rules),
        None, False, (), model.NO_ESCALATION, model.NO_ESCALATION, None, settings,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("digits", "rules"),
    [
        ((8, 12), (("luhn", ()),)),
        ((16, 16), (("luhn", ()),)),
        ((11, 11), (("cpf", ()),)),
        ((14, 14), (("cnpj", ()),)),
        ((6, 10), (("mod11", ()),)),
        ((1, 2), (("range", (1, 31)),)),
        ((3, 3), (("range", (100, 999)),)),
        ((8, 8), (("date", ("DDMMYYYY",)),)),
        ((4, 4), (("date", ("MMYY",)),)),
        ((10, 11), (("regex", ("^[1-9][0-9]9?[2-9][0-9]{7}$",)),)),
        ((4, 4), (("regex", ("(19|20)[0-9]{2}",)),)),
        ((5, 5), (("regex", ("[0-9]{5}",)), ("luhn", ()))),
        ((3, 3), ()),
        ((1, 64), ()),
    ],
)
def test_valid_and_invalid_entries(
    digits: tuple[int, int], rules: tuple[tuple[str, tuple[object, ...]], ...]
) -> None:
    cap = _capture(digits, *rules, end="#")
    value = ex.valid_entry(cap)
    assert value is not None and ex.accepts(cap, value)
    other = ex.valid_entry(cap, avoid={value})
    assert other is not None and other != value and ex.accepts(cap, other)
    bad = ex.invalid_entry(cap, value)
    assert bad is not None
    keys, why = bad
    assert not ex.accepts(cap, keys)
    if rules:
        assert why.startswith("fails ")
        assert len(keys) == len(value)  # a broken check, not a wrong length
    else:
        assert why in ("too short", "empty")


def test_entries_are_keyed_as_the_capture_ends() -> None:
    with_end = _capture((8, 12), ("luhn", ()), end="#")
    assert ex._entry_steps(with_end, "12345674") == (("press", "12345674#"),)
    full = _capture((16, 16), ("luhn", ()))
    card = ex.valid_entry(full)
    assert card is not None and ex._entry_steps(full, card) == (("press", card),)
    open_ended = _capture((4, 6))
    assert ex._entry_steps(open_ended, "1234") == (("press", "1234"), ("wait", None))
    assert ex.valid_entry(open_ended) == "123456"  # the full length ends it without a pause
    assert ex.invalid_entry(open_ended, "123456") == ("123", "too short")


def test_liveness_ignores_what_is_never_read_again() -> None:
    flow = ivrflow.load(REPO / "flows" / "billing.ivr")
    live = ex.Liveness(flow)
    # after the callback offer, the contract and the card are never read again
    offer = live.listening("offer_callback")
    assert "callback_to" in offer and "card" not in offer and "account" not in offer
    # back in the main menu the contract is read again (self-service skips the capture)
    assert {"account", "acct", "account_ok"} <= set(live.listening("main_menu"))
    # the card is always captured before it is paid with
    assert "card" not in live.listening("main_menu")


def test_stand_in_results_and_failure_reasons(tmp_path: Path) -> None:
    """Without fixtures, a successful look-up returns what the flow reads (switch cases
    first); failures use each reason the error branch tells apart, and one more."""
    path = tmp_path / "acct.ivr"
    path.write_text(
        textwrap.dedent(
            """\
            flow acct "Stand-ins"

            function fetch(n)

            start:
              -> find

            lookup find fetch("1") as acct:
              ok:
                say "Balance {{ acct.balance }}."
                switch acct.status:
                  "late" -> late
                  else:
                    hangup "fine"
              error:
                if error == "not found":
                  hangup "unknown"
                hangup "down" as error

            step late:
              hangup "late"
            """
        ),
        encoding="utf-8",
    )
    flow = ivrflow.load(path)
    assert ex._generic_result(flow, "fetch") == {"balance": 1, "status": "late"}
    found = ex.explore(flow, fixtures=Fixtures())
    labels = [n.label for n in found.trees[0].root.children]
    assert labels == [
        "⟨fetch: ok⟩",
        '⟨fetch: error "not found"⟩',
        '⟨fetch: error "service unavailable"⟩',
    ]
    reasons = sorted(str((t[-1].outcome or {})["reason"]) for _, t in found.paths())
    assert reasons == ["down", "late", "unknown"]
    assert found.never_reached_states == []


def test_a_joined_leaf_does_not_repeat_its_target_in_repr() -> None:
    """`same_as` points back into the tree: following it in repr or == re-walks shared
    subtrees (a failing assertion on billing's exploration once hung pytest's report)."""
    target = ex.Node("input", "press 1", "", "main_menu", children=[ex.Node("input", "x", "", "s")])
    joined = ex.Node("input", "press 2", "", "main_menu", same_as=target)
    assert "press 1" not in repr(joined)
    assert joined == ex.Node("input", "press 2", "", "main_menu")
