"""Fixture files: rules answer look-ups in order, errors fail them, queues give EWT."""

from __future__ import annotations

from pathlib import Path

import pytest

import ivrflow
from ivrflow.errors import LookupFailure
from ivrflow.host.fixtures import FixtureError, for_flow, from_dict, load, parse_queue_option

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_rules_match_on_parameter_names_in_order() -> None:
    fx = from_dict(
        {
            "lookups": {
                "fetch": [
                    {"when": {"contract": "42"}, "result": {"balance": 10}},
                    {"error": "not found"},
                ]
            }
        }
    )
    assert fx.answer("fetch", ("contract",), ("42",)) == {"balance": 10}
    with pytest.raises(LookupFailure, match="not found"):
        fx.answer("fetch", ("contract",), ("7",))
    with pytest.raises(LookupFailure, match="no fixture"):
        fx.answer("other", (), ())


def test_every_shipped_flow_has_usable_fixtures() -> None:
    for path in sorted(FLOWS.glob("*.ivr")):
        flow = ivrflow.load(path)
        fx = for_flow(flow)
        assert set(fx.lookups) <= set(flow.functions), path
        assert set(fx.queues) <= set(flow.queues), path


@pytest.mark.parametrize(
    ("text", "expected"),
    [("billing:ewt=300,position=4", ("billing", (300.0, 4))), ("q:ewt=5", ("q", (5.0, None)))],
)
def test_queue_option(text: str, expected: object) -> None:
    assert parse_queue_option(text) == expected


@pytest.mark.parametrize("text", ["billing:wait=3", ":ewt=3", "q:ewt=soon"])
def test_bad_queue_option(text: str) -> None:
    with pytest.raises(FixtureError, match="billing:ewt=300"):
        parse_queue_option(text)


def test_bad_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "f.yaml"
    bad.write_text("lookups:\n  fetch: [\n")
    with pytest.raises(FixtureError, match=r"f.yaml:\d+:\d+: not valid YAML"):
        load(bad)
    with pytest.raises(FixtureError, match="needs either result: or error:"):
        from_dict({"lookups": {"fetch": [{"when": {}}]}})
    with pytest.raises(FixtureError, match="unknown section"):
        from_dict({"lookup": {}})


def test_installed_fixtures_answer_on_the_event_loop_without_a_worker_thread() -> None:
    # A fixture is a dict look-up: a worker thread only adds a GIL hand-over, which showed as
    # the gateway's p99 under load (bench/gateway.py). Answers and failures are unchanged.
    import asyncio
    import threading

    from ivrflow.host.engine import Engine
    from ivrflow.host.fixtures import install
    from ivrflow.runtime import actions as act
    from ivrflow.runtime import events as ev

    flow = ivrflow.load(FLOWS / "billing.ivr")
    engine = Engine()
    install(engine, flow, for_flow(flow))
    threads = threading.active_count()

    async def ask(contract: str) -> ev.Event:
        action = act.Lookup("c1:1", "fetch_account", (contract,), 2.0)
        return await engine.lookup(action, lambda: 0.0)

    found = asyncio.run(ask("79927398713"))
    missing = asyncio.run(ask("0"))
    assert isinstance(found, ev.LookupResult) and found.value
    assert isinstance(missing, ev.LookupFailed)
    assert threading.active_count() == threads
