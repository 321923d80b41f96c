"""Multi-key menu options (issue 12 item 4): the patterns themselves, the VoiceXML timing
rule in the sans-IO interpreter with explicit event times, and `into`."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

import ivrflow
from ivrflow.model import Flow
from ivrflow.model import keypatterns as kp
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session

T0 = 1795525200.0
ANI = "+5511987650000"
DNIS = "+551140040000"

DIRECTORY = """
flow directory
  interdigit 2s
  timeout 5s
start:
  -> main_menu
menu main_menu:
  into ext
  say "For sales press 1, for support 2. If you know your party's extension, dial it now."
  1 -> sales
  2 -> support
  "_4XX" -> dial
  regex "^(10[01][0-9])$" -> dial
  "*72" -> forward
  noinput: say "Hello?"
  nomatch: say "That is not an option."
  exhausted: hangup
step sales:
  say "Sales, {{ ext }}."
  hangup
step support:
  say "Support."
  hangup
step dial:
  say "Calling {{ ext }}."
  hangup
step forward:
  say "Forwarding."
  hangup
"""


def compile_flow(text: str) -> Flow:
    result = ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result.flow


def says(actions: list[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]


def collect(actions: list[act.Action]) -> act.Collect:
    found = [a for a in actions if isinstance(a, act.Collect)]
    assert len(found) == 1, actions
    return found[0]


@pytest.fixture
def flow() -> Flow:
    return compile_flow(DIRECTORY)


def start(flow: Flow) -> Session:
    s = Session(flow, call_id="c1", ani=ANI, dnis=DNIS, at=T0)
    s.start()
    return s


# ---------------------------------------------------------------- the patterns
@pytest.mark.parametrize(
    ("text", "kind", "good", "bad"),
    [
        ("_1XX", "asterisk", ["100", "199"], ["1", "10", "1000", "200", "1*0"]),
        ("_NXXX", "asterisk", ["2000", "9999"], ["1000", "0000", "200"]),
        ("_[1-4]X.", "asterisk", ["100", "49123"], ["10", "500", "1"]),
        ("_Z!", "asterisk", ["1", "9", "12345"], ["0", "01"]),
        ("_1-800-NXX", "asterisk", ["1800200"], ["1800100", "1-800-200"]),
        ("_[135]", "asterisk", ["1", "3", "5"], ["2", "4"]),
        ("^(10[01][0-9])$", "regex", ["1000", "1019"], ["1020", "100", "10100"]),
        ("1\\d{2,3}", "regex", ["100", "1000"], ["10", "10000"]),
        ("(\\*72|\\*73)", "regex", ["*72", "*73"], ["*74", "72"]),
        ("[^0]\\d", "regex", ["10", "*1"], ["01"]),
        ("*72", "keys", ["*72"], ["*7", "*720"]),
    ],
)
def test_a_pattern_matches_the_entries_it_says(
    text: str, kind: kp.OptionKind, good: list[str], bad: list[str]
) -> None:
    entry = kp.KeyEntry((kp.key_option(text, kind),), (0,))
    for keys in good:
        assert entry.finish(keys).option == 0, keys
    for keys in bad:
        d = entry.finish(keys)
        assert d.option is None or d.used < len(keys), keys


def test_malformed_patterns_say_where() -> None:
    for text, kind, offset in [
        ("_1[a]", "asterisk", 3),
        ("_4.5", "asterisk", 2),
        ("_1Q", "asterisk", 2),
        ("^(1(", "regex", 3),
        ("\\w", "regex", 0),
        ("1(?=2)", "regex", 2),
        ("1**", "regex", 2),
    ]:
        with pytest.raises(kp.PatternError) as err:
            kp.key_option(text, kind)  # type: ignore[arg-type]
        assert err.value.offset == offset, (text, str(err.value))
    with pytest.raises(kp.PatternError):
        kp.key_option("1?", "regex")  # the empty entry
    with pytest.raises(kp.PatternError):
        kp.key_option("[^0-9*#]", "regex")  # no entry at all


def test_the_first_option_that_matches_wins_and_examples_show_each(flow: Flow) -> None:
    menu = flow.states["main_menu"]
    assert menu.entry is not None
    examples = menu.entry.examples()
    shown = {menu.entry.options[i].label: e for i, e in examples.items()}
    assert shown["2"] == kp.Example("2", True, True)
    assert shown["1"].keys == "1" and not shown["1"].at_once  # 1000-1019 start with 1
    assert shown["_4XX"] == kp.Example("400", True, True)
    assert shown["/^(10[01][0-9])$/"] == kp.Example("1000", True, True)
    assert shown["*72"] == kp.Example("*72", True, True)


# ---------------------------------------------------------------- timing, in the session
def test_a_key_no_longer_option_starts_with_decides_at_once(flow: Flow) -> None:
    s = start(flow)
    spec = s.listening()
    assert spec is not None and (spec.min_digits, spec.max_digits) == (1, 4)
    assert spec.terminator == "#"
    out = s.send(ev.Digits(T0 + 3.0, "2"))
    assert says(out) == ["Support."]
    assert s.record is not None and s.vars["ext"] == "2"


def test_a_complete_extension_decides_on_its_last_key(flow: Flow) -> None:
    s = start(flow)
    assert s.send(ev.Digits(T0 + 3.0, "4")) == []  # 4XX: two more keys to come
    remaining = s.listening()
    assert remaining is not None
    assert (remaining.min_digits, remaining.max_digits, remaining.timeout) == (2, 2, 2.0)
    assert s.send(ev.Digits(T0 + 3.5, "0")) == []
    out = s.send(ev.Digits(T0 + 4.0, "7"))
    assert says(out) == ["Calling 407."]
    assert s.record is not None
    assert [i["value"] for i in s.record["inputs"]] == ["407"]


def test_a_one_key_option_a_longer_one_starts_with_waits_the_interdigit_timeout(
    flow: Flow,
) -> None:
    s = start(flow)
    assert s.send(ev.Digits(T0 + 3.0, "1")) == []  # 1000-1019 may follow
    spec = s.listening()
    assert spec is not None and spec.timeout == 2.0  # the inter-digit time-out now runs
    out = s.send(ev.NoInput(T0 + 5.0))
    assert says(out) == ["Sales, 1."]


def test_hash_ends_an_entry_at_once(flow: Flow) -> None:
    s = start(flow)
    s.send(ev.Digits(T0 + 3.0, "1"))
    out = s.send(ev.Digits(T0 + 3.4, "#"))
    assert says(out) == ["Sales, 1."]
    assert s.record is not None and s.record["inputs"][0]["ended_by"] == "terminator"


def test_a_regex_option_waits_while_it_can_still_match(flow: Flow) -> None:
    s = start(flow)
    for t, key in ((3.0, "1"), (3.4, "0"), (3.8, "1")):
        assert s.send(ev.Digits(T0 + t, key)) == [], key
    out = s.send(ev.Digits(T0 + 4.2, "5"))
    assert says(out) == ["Calling 1015."]


def test_an_entry_no_option_can_match_is_a_nomatch_at_once(flow: Flow) -> None:
    s = start(flow)
    out = s.send(ev.Digits(T0 + 3.0, "9"))
    assert "That is not an option." in says(out)
    s2 = start(flow)
    s2.send(ev.Digits(T0 + 3.0, "1"))
    out = s2.send(ev.Digits(T0 + 3.4, "2"))  # 12: neither 1 nor 10[01]X
    assert "That is not an option." in says(out)


def test_an_unfinished_extension_at_the_timeout_is_a_nomatch(flow: Flow) -> None:
    s = start(flow)
    s.send(ev.Digits(T0 + 3.0, "4"))
    s.send(ev.Digits(T0 + 3.5, "0"))
    out = s.send(ev.NoInput(T0 + 5.5))
    assert "That is not an option." in says(out)
    assert s.state == "main_menu" and s.buffer == ""


def test_a_gateways_whole_entry_is_decided_as_if_keyed(flow: Flow) -> None:
    s = start(flow)
    out = s.send(ev.Digits(T0 + 6.0, "1", terminated=True))  # <Gather> after its timeout
    assert says(out) == ["Sales, 1."]
    s2 = start(flow)
    out = s2.send(ev.Digits(T0 + 6.0, "1017", terminated=True))
    assert says(out) == ["Calling 1017."]


def test_keys_after_a_decision_are_type_ahead(flow: Flow) -> None:
    s = start(flow)
    s.send(ev.Digits(T0 + 3.0, "25"))  # 2 decides at once; 5 is typed ahead
    assert s.typeahead == "5"


def test_digits_said_choose_a_multi_key_option(flow: Flow) -> None:
    s = start(flow)
    out = s.send(ev.Utterance(T0 + 4.0, "one zero one two", 0.9))
    assert says(out) == ["Calling 1012."]


def test_a_snapshot_keeps_an_entry_under_way(flow: Flow) -> None:
    s = start(flow)
    s.send(ev.Digits(T0 + 3.0, "4"))
    restored = Session.from_dict(flow, s.to_dict())
    out = restored.send(ev.Digits(T0 + 3.4, "12"))
    assert says(out) == ["Calling 412."]


def test_one_key_menus_are_unchanged() -> None:
    flow = compile_flow(
        """
        flow plain
        start:
          -> m
        menu m:
          say "Press 1."
          1 -> a
          exhausted: hangup
        step a:
          say "A."
          hangup
        """
    )
    s = Session(flow, call_id="c", ani=ANI, dnis=DNIS, at=T0)
    first = s.start()
    spec = collect(first)
    assert (spec.min_digits, spec.max_digits, spec.terminator) == (1, 1, None)
    assert flow.states["m"].entry is None  # type: ignore[union-attr]


def test_into_holds_the_keys_for_a_transfer_to_an_extension() -> None:
    flow = compile_flow(
        """
        flow pbx
        start:
          -> m
        menu m:
          into ext
          say "Dial the extension."
          "_2XX" -> call_party
          exhausted: hangup
        transfer call_party:
          extension (ext + "@default")
          failed: hangup
        """
    )
    s = Session(flow, call_id="c", ani=ANI, dnis=DNIS, at=T0)
    s.start()
    out = s.send(ev.Digits(T0 + 3.0, "215"))
    transfer: Any = next(a for a in out if isinstance(a, act.TransferToDestination))
    assert transfer.destination.text() == "215@default"


# ---------------------------------------------------------------- the tools
def test_explore_takes_one_input_per_option_and_reaches_every_branch(flow: Flow) -> None:
    from ivrflow.tools.explore.search import _multikey_options, explore

    menu = flow.states["main_menu"]
    assert isinstance(menu, ivrflow.model.Menu)
    options = {o.label: o for o in _multikey_options(menu, True)}
    assert options["1"].steps == (("press", "1"), ("wait", None))  # 1 must wait
    assert options["400"].steps == (("press", "400"),)
    assert options["1000"].steps == (("press", "1000"),)
    assert options["*72"].steps == (("press", "*72"),)
    assert options["0"].note == "invalid"  # no option starts with 0
    found = explore(flow)
    assert {"sales", "support", "dial", "forward"} <= found.reached_states


def test_fuzzed_callers_dial_the_extensions_and_every_invariant_holds(flow: Flow) -> None:
    from ivrflow.tools.fuzzing.runner import fuzz_flow

    report = fuzz_flow(flow, 300, 1)
    assert report.violations == [] and report.records_lost == 0
    assert report.states["dial"] > 0 and report.states["forward"] > 0


def test_graph_labels_show_the_sequences_and_patterns(flow: Flow) -> None:
    from ivrflow.tools.graph import mermaid

    drawn = mermaid(flow)
    assert '-->|"_4XX"| s_dial' in drawn
    assert '-->|"/^(10[01][0-9])$/"| s_dial' in drawn
    assert '"*72"' in drawn


def test_a_pattern_string_is_no_phrase_for_w230() -> None:
    result = ivrflow.compile_file(
        "t.ivr",
        text='flow f\nstart:\n  -> m\nmenu m:\n  input dtmf\n  say "Dial."\n'
        '  "_4XX" -> m2\n  exhausted: hangup\nstep m2:\n  hangup\n',
    )
    assert "W230" not in [d.code for d in result.diagnostics]
