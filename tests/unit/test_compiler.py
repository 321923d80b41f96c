"""The compiler: each construct lands in the model, each check fires where it should."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import codes, compile_text

from ivrflow import FlowValidationError, load, model

MENU = """
    flow f
    start:
      -> main
    menu main:
      say "Press 1 for billing or say billing."
      1, "billing" -> bye
      noinput 1: say "Sorry?"
      nomatch: say "Not an option."
      exhausted -> bye
    step bye:
      hangup "done"
"""


def flow_of(text: str) -> model.Flow:
    result = compile_text(text)
    assert result.flow is not None, "\n".join(d.message for d in result.diagnostics)
    return result.flow


def test_menu_compiles_to_choices_and_escalations() -> None:
    flow = flow_of(MENU)
    menu = flow.states["main"]
    assert isinstance(menu, model.Menu)
    (choice,) = menu.choices
    assert choice.keys == ("1",) and choice.phrases == ("billing",)
    assert isinstance(choice.body[0], model.Goto) and choice.body[0].target == "bye"
    assert menu.noinput.for_count(1) is not None
    assert menu.noinput.for_count(2) == menu.noinput.for_count(1)  # the last one repeats
    assert menu.nomatch.for_count(3) is not None  # `nomatch:` applies every time
    assert menu.input == flow.settings.input
    assert flow.start == "start"


def test_clean_flow_has_no_diagnostics() -> None:
    assert compile_text(MENU).diagnostics == ()


def test_content_hash_changes_with_the_text_only() -> None:
    a = flow_of(MENU).content_hash
    assert flow_of(MENU).content_hash == a
    assert flow_of(MENU.replace("Sorry?", "Pardon?")).content_hash != a


def test_header_settings() -> None:
    flow = flow_of("""
        flow billing "Billing hotline"
          description "Second copy, balance, payments"
          version "2.1"
          language pt-BR
          timezone "America/Sao_Paulo"
          country BR
          timeout 7s, interdigit 2s, retries 2, confidence 0.7
        start:
          hangup
    """)
    assert (flow.name, flow.title, flow.version) == ("billing", "Billing hotline", "2.1")
    assert flow.description == "Second copy, balance, payments"
    s = flow.settings
    assert (s.language, s.timezone, s.country) == ("pt-BR", "America/Sao_Paulo", "BR")
    assert s.input == model.InputSettings(7.0, 2.0, 2, 0.7)


def test_capture_settings_and_validators() -> None:
    flow = flow_of("""
        flow f
        start:
          -> card
        capture card:
          say "Enter your card number, then hash."
          digits 13..19
          end "#"
          timeout 8s
          interdigit 4s
          valid luhn
          valid range 1000..9999999999999999999
          confirm "You entered {{ card_number | digits }}. Press 1 if correct, 2 to re-enter."
          secure
          into card_number
          ok -> done
          noinput: say "Please enter your card."
          nomatch: say "That card number is not valid."
          exhausted -> done
        step done:
          hangup
    """)
    cap = flow.states["card"]
    assert isinstance(cap, model.Capture)
    assert (cap.min_digits, cap.max_digits, cap.terminator) == (13, 19, "#")
    assert (cap.input.timeout, cap.input.interdigit) == (8.0, 4.0)
    assert [v.name for v in cap.validators] == ["luhn", "range"]
    assert cap.secure and cap.variable == "card_number"
    assert flow.secure_variables == frozenset({"card_number"})
    assert cap.confirm is not None


def test_lookup_transfer_callback() -> None:
    flow = flow_of("""
        flow f
        queue billing "Billing" skills [billing, portuguese], priority 3
        function fetch_account(contract) timeout 2s
        hours office:
          timezone "America/Sao_Paulo"
          mon-fri 08:00-18:00
        start:
          set contract = "123"
          -> find
        lookup find fetch_account(contract) as acct:
          ok -> agent
          error -> agent
        transfer agent:
          queue billing
          priority (acct.vip + 1)
          announce ewt position
          if ewt > 3m -> offer
          busy -> offer
          failed -> offer
        callback offer:
          say "Press 1 to be called back."
          queue billing
          window office
          accept 1 "yes"
          decline 2 "no"
          scheduled -> bye
          declined -> bye
          failed -> bye
          noinput: say "Press 1 or 2."
          nomatch: say "Press 1 or 2."
          exhausted -> bye
        step bye:
          hangup
    """)
    find = flow.states["find"]
    assert isinstance(find, model.Lookup)
    assert (find.function, find.result, find.timeout) == ("fetch_account", "acct", 2.0)
    agent = flow.states["agent"]
    assert isinstance(agent, model.Transfer)
    assert agent.queue == "billing" and agent.skills == ("billing", "portuguese")
    assert agent.announce == ("ewt", "position")
    assert set(agent.on_result) == {"busy", "failed"}
    offer = flow.states["offer"]
    assert isinstance(offer, model.CallbackOffer)
    assert offer.window == "office" and offer.accept == ("1", "yes")
    assert offer.number == model.Var("ani")
    assert flow.queues["billing"].priority == 3


def test_hours_weekly_and_closures() -> None:
    flow = flow_of("""
        flow f
        hours office:
          timezone "America/New_York"
          mon-fri 09:00-12:00, 13:00-17:00
          fri-mon 20:00-22:00
          closed 2026-12-24..2026-12-26 "Christmas"
          closed 2026-12-31 14:00-24:00
        start:
          if open(office): hangup "open"
          hangup "closed"
    """)
    h = flow.hours["office"]
    assert h.timezone == "America/New_York"
    assert h.weekly[0] == (
        (dt.time(9), dt.time(12)),
        (dt.time(13), dt.time(17)),
        (dt.time(20), dt.time(22)),
    )
    assert set(h.weekly) == {0, 1, 2, 3, 4, 5, 6}  # fri-mon wraps over the weekend
    assert h.closures[0].first == dt.date(2026, 12, 24)
    assert h.closures[0].last == dt.date(2026, 12, 26)
    assert h.closures[1].times == ((dt.time(14), dt.time.max),)


def test_lists_are_normalized_to_e164(tmp_path: Path) -> None:
    (tmp_path / "vip.csv").write_text("number,name\n(11) 98765-4321,Ana\n+55 21 3333-4444,Bia\n")
    (tmp_path / "blocked.yaml").write_text("numbers:\n  - '0800 123 4567'\n")
    main = tmp_path / "f.ivr"
    main.write_text(
        'flow f\n  country BR\nlist vip from "vip.csv"\nlist blocked from "blocked.yaml"\n'
        'list inline ["011 5555-0000"]\n'
        "start:\n  if ani in vip or ani in blocked or ani in inline: hangup\n  hangup\n"
    )
    flow = load(main, strict=True)
    assert flow.lists["vip"].numbers == frozenset({"+5511987654321", "+552133334444"})
    assert flow.lists["blocked"].numbers == frozenset({"+558001234567"})
    assert flow.lists["inline"].numbers == frozenset({"+551155550000"})


def test_expressions_compile_to_the_model() -> None:
    flow = flow_of("""
        flow f
        list vip ["+15550001111"]
        var tries = 0
        start:
          if ani in vip and not (tries >= 3) or ani matches "^\\+1555": set tries = tries + 1
          if ani is withheld: hangup
          hangup
    """)
    start = flow.states["start"]
    assert isinstance(start, model.Step)
    first = start.body[0]
    assert isinstance(first, model.If)
    cond = first.branches[0][0]
    assert isinstance(cond, model.BinOp) and cond.op == "or"
    assert isinstance(cond.left, model.BinOp) and cond.left.op == "and"
    member = cond.left.left
    assert member == model.BinOp("in", model.Var("ani"), model.ListRef("vip"))
    assert isinstance(cond.right, model.Match)
    assert flow.variables["tries"] == model.Const(0)


def test_modules_share_states_and_report_errors_in_their_own_file(write) -> None:  # type: ignore[no-untyped-def]
    write(
        "common/identity.ivr",
        """
        module identity
        capture pin:
          digits 4
          secure
          ok -> check_pin
          noinput: say "Enter your PIN."
          nomatch: say "Four digits, please."
          exhausted -> return
        step check_pin:
          if pin == "0000": goto locked
          return
    """,
    )
    main = write(
        "main.ivr",
        """
        flow f
        use "common/identity.ivr"
        start:
          call pin
          hangup
    """,
    )
    from ivrflow import compile_file

    result = compile_file(main)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [
        (d.code, d.path.endswith("common/identity.ivr"), d.span.line) for d in errors if d.span
    ] == [("E104", True, 10)]
    assert errors[0].hint is None or "locked" not in errors[0].hint


def test_missing_module_is_reported_at_the_use_line(write) -> None:  # type: ignore[no-untyped-def]
    main = write("main.ivr", 'flow f\nuse "nope.ivr"\nstart:\n  hangup\n')
    from ivrflow import compile_file

    (d,) = compile_file(main).diagnostics
    assert d.code == "E001" and d.path.endswith("main.ivr") and d.span is not None
    assert (d.span.line, d.span.column) == (2, 5)


@pytest.mark.parametrize(
    ("snippet", "code"),
    [
        ("start:\n  goto main_meny\nmenu main_menu:\n  1 -> start\n", "E104"),
        ("start:\n  hangup\nstart:\n  hangup\n", "E101"),
        ("start:\n  -> agent\ntransfer agent:\n  queue bling\n", "E105"),
        ("start:\n  if open(ofice): hangup\n  hangup\n", "E106"),
        ("start:\n  if ani in vipp: hangup\n  hangup\n", "E109"),
        ("start:\n  -> l\nlookup l fetch(x) as y:\n  ok -> start\n  error -> start\n", "E108"),
        ("start:\n  say greting\n  hangup\n", "E110"),
        ("start:\n  set ani = 1\n  hangup\n", "E138"),
        ('start:\n  say "hi"\n', "E130"),
        ("start:\n  split:\n    30% -> start\n    60% -> start\n", "E128"),
        ("start:\n  -> c\ncapture c:\n  digits 8..4\n  ok -> start\n", "E127"),
        ("start:\n  -> m\nmenu m:\n  1 -> start\n  1 -> start\n", "E124"),
        ('start:\n  -> m\nmenu m:\n  "Billing" -> start\n  "billing!" -> start\n', "E125"),
        ("start:\n  -> m\nmenu m:\n  1.5 -> start\n", "E126"),
        ("start:\n  -> m\nmenu m:\n  timout 5s\n  1 -> start\n", "E120"),
        ("start:\n  -> m\nmenu m:\n  timeout 5\n  1 -> start\n", "E140"),
        ('start:\n  -> m\nmenu m:\n  noinput 9: say "x"\n  1 -> start\n', "E135"),
        ("start:\n  if now > 25:00: hangup\n  hangup\n", "E141"),
        ('start:\n  if ani matches "(": hangup\n  hangup\n', "E144"),
        ('start:\n  say "{{ balance | currensy }}"\n  hangup\n', "E152"),
        ('start:\n  say "{{ balanse }}"\n  hangup\n', "E151"),
        ('start:\n  say "{{ x "\n  hangup\n', "E150"),
        ("start:\n  if ani is hidden: hangup\n  hangup\n", "E134"),
        ("start:\n  goto repeat\n", "E139"),
    ],
)
def test_each_check_fires(snippet: str, code: str) -> None:
    assert code in codes(compile_text("flow f\n" + snippet))


def test_all_problems_are_reported_together() -> None:
    result = compile_text("""
        flow f
        start:
          goto nowhere
        menu m:
          1 -> elsewhere
          1 -> start
    """)
    assert {"E104", "E124"} <= set(codes(result))
    assert codes(result).count("E104") == 2


def test_did_you_mean_hint() -> None:
    result = compile_text("flow f\nstart:\n  goto main_meny\nmenu main_menu:\n  1 -> start\n")
    (d,) = [d for d in result.diagnostics if d.code == "E104"]
    assert d.hint == "did you mean 'main_menu'?"
    assert d.span is not None and (d.span.line, d.span.column) == (3, 8)


def test_warnings_unreachable_loop_and_prompt_keys() -> None:
    result = compile_text("""
        flow f
        start:
          -> m
        menu m:
          say "Press 1 for sales or press 4 for support."
          1 -> m
          noinput: say "?"
          nomatch: say "?"
          exhausted -> m
        step orphan:
          hangup
    """)
    got = set(codes(result))
    assert {"W201", "W202", "W203"} <= got
    assert result.flow is not None  # warnings do not stop the flow


def test_load_strict_raises_on_warnings() -> None:
    with pytest.raises(FlowValidationError) as info:
        from ivrflow.compiler import load as _load  # same as ivrflow.load

        _load(_write_tmp("flow f\nstart:\n  -> m\nmenu m:\n  1 -> start\n"), strict=True)
    assert {d.code for d in info.value.diagnostics} >= {"W204", "W205", "W207"}


def _write_tmp(text: str) -> Path:
    import tempfile

    d = Path(tempfile.mkdtemp())
    p = d / "f.ivr"
    p.write_text(text)
    return p


def test_hangup_outcome() -> None:
    flow = flow_of('flow f\nstart:\n  hangup "transfer failed" as error\n')
    stmt = flow.states["start"].body[0]  # type: ignore[union-attr]
    assert isinstance(stmt, model.Hangup)
    assert (stmt.reason, stmt.outcome) == ("transfer failed", "error")
    assert flow_of('flow f\nstart:\n  hangup "done"\n').states["start"].body[0].outcome == (  # type: ignore[union-attr]
        "self_served"
    )
    result = compile_text('flow f\nstart:\n  hangup "x" as transferred\n')
    (d,) = result.errors
    assert d.code == "E121" and d.span is not None and d.span.column == 17


def test_a_time_zone_too_long_for_a_file_name_is_an_unknown_zone() -> None:
    """zoneinfo opens a file named after the zone: a 400-character name raised OSError
    (found by the mutation fuzzer) instead of giving the unknown-zone diagnostic."""
    zone = "America/" + "9" * 400 + "Sao_Paulo"
    result = compile_text(f'flow f\n  timezone "{zone}"\nstart:\n  hangup "done"\n')
    assert codes(result) == ["E142"]
    assert result.errors[0].span is not None and result.errors[0].span.line == 2
