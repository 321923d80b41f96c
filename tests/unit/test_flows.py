"""The example flows under flows/: each compiles cleanly under --strict, and each really
contains what flows/README.md says it shows.

New `flows/*.ivr` files are picked up by the glob and must compile cleanly too, and have a
fixture file whose functions, parameters and queues match the flow.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import ivrflow
from ivrflow import compile_file, model
from ivrflow.model import hours
from ivrflow.model.escalation import exhausted_reachable

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
FLOW_FILES = sorted(FLOWS.glob("*.ivr"))
MODULE_FILES = sorted((FLOWS / "common").glob("*.ivr"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# ---------------------------------------------------------------- helpers


def statements(body: model.Body) -> Iterator[model.Statement]:
    """Every statement of a body, nested ones included."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, model.If | model.Switch | model.Split):
            inner = stmt.branches if not isinstance(stmt, model.Switch) else stmt.cases
            for _, b in inner:
                yield from statements(b)


def state_bodies(state: model.State) -> Iterator[model.Body]:
    if isinstance(state, model.Step):
        yield state.body
        return
    if isinstance(state, model.Transfer):
        yield state.body
        yield from state.on_result.values()
        return
    if isinstance(state, model.Record):
        yield from (b for b in (state.prompt, state.ok, state.silent, state.error) if b)
        return
    yield state.prompt
    if isinstance(state, model.Menu):
        yield from (c.body for c in state.choices)
    elif isinstance(state, model.Capture | model.Lookup):
        yield state.ok
    else:
        yield state.scheduled
        yield from (b for b in (state.declined, state.failed) if b is not None)
    if isinstance(state, model.Lookup):
        if state.error is not None:
            yield state.error
        return
    yield from state.noinput.by_count.values()
    yield from state.nomatch.by_count.values()
    if state.exhausted is not None:
        yield state.exhausted


def all_statements(flow: model.Flow) -> list[model.Statement]:
    return [s for st in flow.states.values() for b in state_bodies(st) for s in statements(b)]


def expressions(e: model.Expression) -> Iterator[model.Expression]:
    yield e
    if isinstance(e, model.Not | model.Neg):
        yield from expressions(e.operand)
    elif isinstance(e, model.BinOp):
        yield from expressions(e.left)
        yield from expressions(e.right)
    elif isinstance(e, model.Match | model.Test):
        yield from expressions(e.operand)
    elif isinstance(e, model.Call):
        for a in e.args:
            yield from expressions(a)
    elif isinstance(e, model.MakeList):
        for x in e.items:
            yield from expressions(x)


def all_expressions(flow: model.Flow) -> list[model.Expression]:
    roots: list[model.Expression] = []
    for s in all_statements(flow):
        if isinstance(s, model.If):
            roots.extend(c for c, _ in s.branches if c is not None)
        elif isinstance(s, model.Switch):
            roots.append(s.subject)
        elif isinstance(s, model.Assign):
            roots.append(s.value)
    return [x for r in roots for x in expressions(r)]


def say_texts(flow: model.Flow) -> list[str]:
    return [t for s in all_statements(flow) if isinstance(s, model.Say) for t in s.text.values()]


def states_of(flow: model.Flow, kind: type) -> list:
    return [s for s in flow.states.values() if isinstance(s, kind)]


@pytest.fixture(scope="module")
def billing() -> model.Flow:
    return ivrflow.load(FLOWS / "billing.ivr", strict=True)


@pytest.fixture(scope="module")
def telecom() -> model.Flow:
    return ivrflow.load(FLOWS / "telecom_support.ivr", strict=True)


@pytest.fixture(scope="module")
def bank() -> model.Flow:
    return ivrflow.load(FLOWS / "bank.ivr", strict=True)


@pytest.fixture(scope="module")
def appointments() -> model.Flow:
    return ivrflow.load(FLOWS / "appointments.ivr", strict=True)


# ---------------------------------------------------------------- every flow


def test_the_examples_are_there() -> None:
    names = {p.stem for p in FLOW_FILES}
    assert {"billing", "telecom_support", "bank", "appointments"} <= names
    assert {"hours", "identity", "prompts"} <= {p.stem for p in MODULE_FILES}


@pytest.mark.parametrize("path", FLOW_FILES, ids=_ids(FLOW_FILES))
def test_flow_compiles_strict(path: Path) -> None:
    flow = ivrflow.load(path, strict=True)  # raises FlowError on any error or warning
    assert flow.name == path.stem
    assert flow.start == "start"
    result = compile_file(path)
    assert [f"{d.code} {d.message}" for d in result.diagnostics] == []


@pytest.mark.parametrize("path", FLOW_FILES, ids=_ids(FLOW_FILES))
def test_flow_handles_every_input_failure(path: Path) -> None:
    """The house rules, read from the model: escalations, exhausted and error branches."""
    flow = ivrflow.load(path, strict=True)
    for state in flow.states.values():
        if isinstance(state, model.Menu | model.Capture | model.CallbackOffer):
            assert state.noinput.by_count, state.name
            assert state.nomatch.by_count, state.name
            # Every way the state can give up has a branch: `exhausted`, unless each kind's
            # own limit has its exit and comes first (`retries noinput 3, nomatch 3`).
            reachable = exhausted_reachable(state.input, state.limit_exits)
            assert state.exhausted is not None or not reachable, state.name
        if isinstance(state, model.Lookup):
            assert state.error is not None, state.name


@pytest.mark.parametrize("path", FLOW_FILES, ids=_ids(FLOW_FILES))
def test_flow_hangups_give_a_reason(path: Path) -> None:
    flow = ivrflow.load(path, strict=True)
    hangups = [s for s in all_statements(flow) if isinstance(s, model.Hangup)]
    assert hangups
    assert all(h.reason for h in hangups), [str(h.where) for h in hangups if not h.reason]


def test_every_module_is_used() -> None:
    used = set()
    for path in FLOW_FILES:
        used |= {Path(s).name for s in ivrflow.load(path).sources[1:]}
    assert {p.name for p in MODULE_FILES} <= used


# ---------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", FLOW_FILES, ids=_ids(FLOW_FILES))
def test_fixture_matches_flow(path: Path) -> None:
    fixture = FLOWS / "fixtures" / f"{path.stem}.yaml"
    assert fixture.is_file(), f"add {fixture.relative_to(ROOT)} (see flows/README.md)"
    data = yaml.safe_load(fixture.read_text(encoding="utf-8"))
    assert set(data) <= {"calls", "lookups", "queues"}
    flow = ivrflow.load(path, strict=True)
    called = {s.function for s in states_of(flow, model.Lookup)}
    assert set(data["lookups"]) == called, "one entry per host function the flow calls"
    for name, rules in data["lookups"].items():
        params = set(flow.functions[name].params)
        assert isinstance(rules, list) and rules, name
        for rule in rules:
            assert set(rule) <= {"when", "result", "error"}, (name, rule)
            assert ("result" in rule) != ("error" in rule), (name, rule)
            assert set(rule.get("when", {})) <= params, (name, rule)
    for name, figures in data.get("queues", {}).items():
        assert name in flow.queues
        assert set(figures) <= {"ewt", "position"}
    for name, call in data.get("calls", {}).items():
        assert set(call) == {"ani", "dnis"}, name


# ---------------------------------------------------------------- billing


def test_billing_languages(billing: model.Flow) -> None:
    assert billing.settings.language == "pt-BR"
    assert billing.settings.country == "BR"
    assert "+18885550142" in billing.lists["english_lines"].numbers
    sets_english = [
        s
        for s in all_statements(billing)
        if isinstance(s, model.Assign) and s.name == "language" and s.value == model.Const("en-US")
    ]
    assert sets_english
    for name in ("welcome", "main_menu_prompt", "balance_readout", "callback_offer_wait"):
        assert set(billing.prompts[name].text) == {"pt-BR", "en-US"}, name


def test_billing_lists_are_e164(billing: model.Flow) -> None:
    vip = billing.lists["vip"]
    assert vip.source == "lists/vip.csv"
    assert len(vip.numbers) == 5
    assert all(n.startswith("+") and n[1:].isdigit() for n in vip.numbers)
    assert "+5521998765432" in vip.numbers  # written "(21) 99876-5432"
    assert "+551134567890" in vip.numbers  # written "011 3456-7890"
    assert "+13055550134" in vip.numbers  # written "+1 305 555 0134"
    blocked = billing.lists["blocked"]
    assert blocked.source == "lists/blocked.yaml"
    assert blocked.numbers == {"+5511999990000", "+5521988880000", "+5551977771234"}


def test_billing_start_checks_caller_and_hours(billing: model.Flow) -> None:
    start = billing.states["start"]
    assert isinstance(start, model.Step)
    exprs = [c for s in statements(start.body) if isinstance(s, model.If) for c, _ in s.branches]
    found = [x for c in exprs if c is not None for x in expressions(c)]
    assert model.ListRef("vip") in found
    assert model.ListRef("blocked") in found
    assert model.ListRef("english_lines") in found
    assert any(isinstance(x, model.Test) and x.name == "withheld" for x in found)
    assert model.Call("emergency", (model.HoursRef("office"),)) in found
    assert model.Call("holiday", (model.HoursRef("office"),)) in found
    everywhere = all_expressions(billing)
    assert model.Call("open", (model.HoursRef("office"),)) in everywhere
    assert model.Call("open", (model.HoursRef("office_us"),)) in everywhere


def test_billing_hours_have_closures(billing: model.Flow) -> None:
    office = billing.hours["office"]
    assert office.timezone == "America/Sao_Paulo"
    assert office.where.path.endswith("common/hours.ivr")
    assert 6 not in office.weekly or office.weekly[6] == ()  # closed on Sundays
    assert office.weekly[0] == ((dt.time(8), dt.time(20)),)
    christmas = hours.day_closure(office, dt.date(2026, 12, 25))
    assert christmas is not None and christmas.times == () and christmas.reason == "Natal"
    partial = [c for c in office.closures if c.times]
    assert partial, "partial-day closures (Ash Wednesday, Christmas Eve)"
    carnival = [hours.day_closure(office, dt.date(2026, 2, d)) for d in (16, 17)]
    assert [c.reason if c else None for c in carnival] == ["Carnaval", "Carnaval"]
    assert billing.hours["office_us"].timezone == "America/New_York"
    assert [c.code for c in billing.hours["office_us"].calendars] == ["US"]


def test_billing_main_menu_keys_phrases_escalation(billing: model.Flow) -> None:
    menu = billing.states["main_menu"]
    assert isinstance(menu, model.Menu)
    keys = {k for c in menu.choices for k in c.keys}
    assert {"1", "2", "3", "0", "9", "*"} <= keys
    assert all(c.phrases for c in menu.choices)
    phrases = {p for c in menu.choices for p in c.phrases}
    assert {"segunda via", "saldo", "atendente", "balance"} <= phrases
    assert set(menu.noinput.by_count) == {1, 2}
    assert set(menu.nomatch.by_count) == {1, 2}
    assert menu.exhausted == (model.Goto(menu.exhausted[0].where, "agent"),)


def test_billing_account_capture_and_readback(billing: model.Flow) -> None:
    account = billing.states["account"]
    assert isinstance(account, model.Capture)
    assert (account.min_digits, account.max_digits, account.terminator) == (8, 12, "#")
    assert [v.name for v in account.validators] == ["luhn"]
    assert not account.secure
    confirm = billing.states["confirm_account"]
    assert isinstance(confirm, model.Menu)
    assert "{{ account | digits }}" in billing.prompts["account_readback"].text["pt-BR"]
    lookup = billing.states["find_account"]
    assert isinstance(lookup, model.Lookup)
    assert (lookup.function, lookup.result) == ("fetch_account", "acct")
    assert lookup.args == (model.Var("account"),)
    assert lookup.timeout == 2.0


def test_billing_balance_uses_say_as(billing: model.Flow) -> None:
    text = billing.prompts["balance_readout"].text
    assert "acct.balance | currency" in text["pt-BR"]
    assert "acct.due | date" in text["pt-BR"]
    assert "currency('BRL')" in text["en-US"]  # reais, even in English


def test_billing_secure_card_payment(billing: model.Flow) -> None:
    assert billing.secure_variables == {"card", "card_expiry", "card_cvv"}
    card = billing.states["card"]
    assert isinstance(card, model.Capture)
    assert card.secure
    assert (card.min_digits, card.max_digits, card.terminator) == (16, 16, None)
    assert [v.name for v in card.validators] == ["luhn"]
    expiry = billing.states["card_expiry"]
    assert isinstance(expiry, model.Capture)
    assert [(v.name, v.args) for v in expiry.validators] == [("date", ("MMYY",))]
    pay = billing.states["pay"]
    assert isinstance(pay, model.Lookup)
    assert pay.function == "pay_with_card"
    assert model.Var("card") in pay.args
    assert pay.timeout == 12.0
    assert billing.functions["pay_with_card"].params == (
        "contract",
        "card",
        "expiry",
        "cvv",
        "amount",
    )


def test_billing_transfer_priority_skills_ewt(billing: model.Flow) -> None:
    agent = billing.states["agent_pt"]
    assert isinstance(agent, model.Transfer)
    assert agent.queue == "billing"
    assert agent.destination is None
    assert agent.priority == model.BinOp("+", model.Var("priority"), model.Const(5))
    assert agent.skills == ("billing", "portuguese")
    assert agent.announce == ("ewt",)
    conds = [c for s in agent.body if isinstance(s, model.If) for c, _ in s.branches]
    assert any(model.Var("ewt") in list(expressions(c)) for c in conds if c is not None)
    assert set(agent.on_result) == {"busy", "full", "noanswer", "failed"}
    vip_sets = [
        s
        for s in all_statements(billing)
        if isinstance(s, model.Assign) and s.name == "priority" and s.value == model.Const(10)
    ]
    assert vip_sets


def test_billing_callback_offers(billing: model.Flow) -> None:
    offers = {s.name: s for s in states_of(billing, model.CallbackOffer)}
    assert set(offers) == {"offer_callback", "offer_callback_en"}
    pt = offers["offer_callback"]
    assert (pt.queue, pt.window) == ("billing", "callback_window")
    assert pt.number == model.Var("callback_to")
    assert pt.accept == ("1", "sim", "pode ligar")
    assert pt.declined is not None and pt.failed is not None
    assert (offers["offer_callback_en"].queue, offers["offer_callback_en"].window) == (
        "billing_intl",
        "office_us",
    )
    ask = billing.states["ask_callback_number"]
    assert isinstance(ask, model.Capture)
    assert ask.variable == "callback_to"


def test_billing_goodbyes_have_reasons(billing: model.Flow) -> None:
    reasons = {s.reason for s in all_statements(billing) if isinstance(s, model.Hangup)}
    assert {
        "self_service",
        "blocked_caller",
        "emergency",
        "callback_scheduled",
        "after_hours",
    } <= reasons


# ---------------------------------------------------------------- telecom_support


def test_telecom_region_outage(telecom: model.Flow) -> None:
    assert telecom.lists["outage_regions"].numbers == {"SP_CAPITAL", "RJ_METRO"}
    found = all_expressions(telecom)
    assert model.BinOp("startswith", model.Var("ani"), model.Const("+5511")) in found
    patterns = [x.pattern.pattern for x in found if isinstance(x, model.Match)]
    assert r"^\+5521" in patterns
    assert model.BinOp("in", model.Var("region"), model.ListRef("outage_regions")) in found


def test_telecom_ab_split_and_voicebot(telecom: model.Flow) -> None:
    splits = [s for s in all_statements(telecom) if isinstance(s, model.Split)]
    assert len(splits) == 1
    assert sorted(w for w, _ in splits[0].branches) == [20.0, 80.0]
    voice = telecom.states["main_menu_voice"]
    assert isinstance(voice, model.Menu)
    assert voice.input.confidence == 0.6
    assert sum(len(c.phrases) for c in voice.choices) >= 15
    assert telecom.settings.fuzzy == 0.75


def test_telecom_switches_on_line_test(telecom: model.Flow) -> None:
    test = telecom.states["run_line_test"]
    assert isinstance(test, model.Lookup)
    switch = next(s for s in statements(test.ok) if isinstance(s, model.Switch))
    assert switch.subject == model.Var("test", ("status",))
    values = {v for vals, _ in switch.cases for v in vals}
    assert {"ok", "modem_offline", "signal_low", "line_fault", "billing_block"} == values
    assert switch.cases[-1][0] == ()  # else
    billing_line = telecom.states["billing_line"]
    assert isinstance(billing_line, model.Transfer)
    assert billing_line.destination == model.Const("+551130030001")


# ---------------------------------------------------------------- bank


def test_bank_secure_pin_with_lockout(bank: model.Flow) -> None:
    pin = bank.states["pin"]
    assert isinstance(pin, model.Capture)
    assert pin.secure and (pin.min_digits, pin.max_digits) == (4, 4)
    assert bank.secure_variables == {"pin"}
    assert bank.variables["pin_failures"] == model.Const(0)
    failed = bank.states["pin_failed"]
    assert isinstance(failed, model.Step)
    incr = model.BinOp("+", model.Var("pin_failures"), model.Const(1))
    assert model.Assign(failed.body[0].where, "pin_failures", incr) == failed.body[0]
    found = all_expressions(bank)
    assert model.BinOp(">=", model.Var("pin_failures"), model.Const(3)) in found


def test_bank_cpf_card_block_and_fraud(bank: model.Flow) -> None:
    cpf = bank.states["cpf"]
    assert isinstance(cpf, model.Capture)
    assert [v.name for v in cpf.validators] == ["cpf"]
    assert cpf.confirm is not None and "{{ cpf | digits }}" in cpf.confirm.text[""]
    block = bank.states["do_block"]
    assert isinstance(block, model.Lookup)
    assert block.function == "block_card"
    fraud = bank.states["fraud_team"]
    assert isinstance(fraud, model.Transfer)
    assert fraud.queue is None and fraud.destination == model.Const("+551140045000")
    assert "+5511991112233" in bank.lists["private_banking"].numbers


# ---------------------------------------------------------------- appointments


def test_appointments_date_capture(appointments: model.Flow) -> None:
    date = appointments.states["preferred_date"]
    assert isinstance(date, model.Capture)
    assert [(v.name, v.args) for v in date.validators] == [("date", ("DDMM",))]
    assert (date.min_digits, date.max_digits) == (4, 4)
    assert date.confirm is not None


def test_appointments_callbacks_and_subflow(appointments: model.Flow) -> None:
    offer = appointments.states["offer_callback"]
    assert isinstance(offer, model.CallbackOffer)
    assert offer.window == (dt.time(9), dt.time(18))
    assert offer.confirm is not None
    calls = [s for s in all_statements(appointments) if isinstance(s, model.CallSub)]
    assert [c.target for c in calls] == ["identity_check"]
    check = appointments.states["identity_check"]
    assert check.where.path.endswith("common/identity.ivr")
    module_states = [
        s for s in appointments.states.values() if s.where.path.endswith("common/identity.ivr")
    ]
    returns = [
        st
        for s in module_states
        for b in state_bodies(s)
        for st in statements(b)
        if isinstance(st, model.Return)
    ]
    assert len(returns) >= 3
    assert "verify_identity" in appointments.functions


# ---------------------------------------------------------------- the CLI


def test_cli_check_strict_all_flows() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", "check", "--strict", *map(str, FLOW_FILES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(": ok") == len(FLOW_FILES)
