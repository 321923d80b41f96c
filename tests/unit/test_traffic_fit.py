"""Fitting a caller model from records: records made by real Sessions driven by a known
model give that model's shares back, within sampling error."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml

# The walk test's flow, model and model-driven caller (tests/unit is on sys.path).
from helpers import lookup_answer_from_model
from test_traffic_walk import MODEL, _answer, _flow

from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import build_record
from ivrflow.runtime.session import Session
from ivrflow.traffic.fit import fit_model
from ivrflow.traffic.model import parse_model


def _records(tmp_path: Path, n: int) -> list[dict[str, object]]:
    flow, m = _flow(tmp_path), parse_model(MODEL)
    rng = random.Random(11)
    monday = dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp()
    out = []
    for i in range(n):
        # 2/3 of the calls at 14:00 UTC, 1/3 at 15:00, over 7 days
        at = monday + (i % 7) * 86400 + (14 if i % 3 else 15) * 3600 + rng.random() * 3000
        seg = rng.choices(m.callers, [c.share for c in m.callers])[0]
        s = Session(flow, call_id=f"c{i}", ani=seg.ani, dnis=seg.dnis, at=at)
        actions, now = s.start(), at
        for _ in range(300):
            if s.ended:
                break
            event = None
            for a in actions:
                if isinstance(a, act.Lookup):
                    event = lookup_answer_from_model(m, a, rng, now)
                elif isinstance(a, act.GetQueueStatus):
                    event = ev.QueueStatus(now, a.queue, 30.0, 1)
                elif isinstance(a, act.TransferToQueue):
                    event = ev.TransferResult(now, "answered")
                elif isinstance(a, act.StoreCallback):
                    event = ev.CallbackStored(now, "r")
                elif isinstance(a, act.Collect):
                    event = _answer(s, m, rng, now)
                if event is not None:
                    break
            if event is None:
                break
            now += 2.0
            actions = s.send(event)
        out.append(build_record(s))
    return out


def test_fit_recovers_the_model_that_made_the_records(tmp_path: Path) -> None:
    records = _records(tmp_path, 2100)
    flow = _flow(tmp_path)
    data = fit_model(flow, records)
    fitted = parse_model(
        yaml.safe_dump(data), "fitted.yaml"
    )  # what --write-model writes reads back

    # Arrivals: 2100 calls over 7 days, 2/3 of them in the 14:00 hour (New York time: 09:00).
    assert sum(fitted.per_hour) == 300.0
    assert abs(fitted.per_hour[9] - 200.0) < 1e-6
    # Menu shares among valid answers (true: 0.3/0.3/0.3/0.1).
    main = fitted.states["main"].choices
    assert abs(main["1"] - 0.3) < 0.04 and abs(main["*"] - 0.1) < 0.03
    # Callback acceptance (true 0.4), look-up errors (true 0.2).
    assert abs((fitted.states["offer"].accept or 0) - 0.4) < 0.1
    errors = [o.share for o in fitted.lookups["find_customer"].outcomes if o.error == "not found"]
    assert errors and abs(errors[0] - 0.2) < 0.03
    # No-input and no-match per attempt (true 0.2 and 0.15), overall and where they happened.
    assert abs(fitted.noinput - 0.2) < 0.04
    assert abs((fitted.states["main"].noinput or 0) - 0.2) < 0.04
    assert abs((fitted.states["number"].nomatch or 0) - 0.15) < 0.04
    assert abs((fitted.states["main"].hangup or 0) - 0.03) < 0.015
    # Withheld/VIP callers: both ANI segments come back with their shares (0.8 / 0.2).
    shares = {c.ani: c.share for c in fitted.callers}
    assert abs(shares["+12125550100"] - 0.8) < 0.04


def test_fit_keeps_what_records_cannot_tell_from_the_base_model(tmp_path: Path) -> None:
    records = _records(tmp_path, 200)
    base = parse_model(MODEL + "conditions: {'balance: cust.balance > 100': 0.3}\n")
    data = fit_model(_flow(tmp_path), records, base)
    fitted = parse_model(yaml.safe_dump(data))
    assert fitted.queues["care"].agents == 5 and fitted.queues["care"].aht == 200
    assert fitted.conditions == {"balance: cust.balance > 100": 0.3}
    ok = [o for o in fitted.lookups["find_customer"].outcomes if o.error is None]
    assert {o.result["balance"] for o in ok} == {50, 500}  # result values from the base
