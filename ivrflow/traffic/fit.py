"""A caller model fitted from call records (the JSON lines `records.py` writes).

What the records tell, and how it is read:
- arrivals: calls per hour of the day (the flow's time zone) averaged over the
  days the records span, and a factor per weekday (mean 1);
- callers: the most common (ANI, DNIS) pairs and their shares (a masked ANI
  keeps the base model's first caller number: only its DNIS is used);
- per menu: the share of each choice among valid answers (keys, spoken keys and
  phrases matched as the interpreter matches them); a key no choice has is a
  no-match of that menu; callback offers: accepted / (accepted + declined);
- no-input and no-match per state: the record's `failures` there / attempts there
  (answers, wrong ones included, plus no-inputs plus hang-ups); records older than
  `failures` give one no-input rate for every state, from the calls' totals, and per-menu
  no-match rates from keys no choice has;
- hang-up per state: calls abandoned there / attempts there;
- look-ups: mean latency, the share of each error reason; an `ok` keeps the
  result values of the base model (records do not hold them).
- queues: the callers' mean patience, from the records' queue legs (`PatienceFit`).
Agents, handle times, conditions and speech rates are not in records: they come from the
base model (`--model`), or documented defaults with a note to set them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from .. import model as fm
from ..insight.queue_kpis import WAITED, legs
from ..model import hours as hours_mod
from ..model import speech
from .model import TrafficModel, choice_keys

__all__ = ["describe_fit", "fit_model"]

DEFAULT_QUEUE = {"agents": 10, "aht": 300, "patience": 180}
MAX_SEGMENTS = 12


class PatienceFit:
    """Callers' mean patience per queue, from the records' queue legs.

    With exponential patience, the maximum-likelihood estimate is the time all callers spent
    waiting (an answered caller's wait is a patience not yet run out: a censored one) over
    the callers who ran out of it (abandoned in queue). It needs no handle time, which
    records do not carry; agents and AHT stay the base model's.
    """

    def __init__(self) -> None:
        self.waited: defaultdict[str, float] = defaultdict(float)
        self.abandons: Counter[str] = Counter()

    def add(self, record: dict[str, Any]) -> None:
        for leg in legs(record):
            wait = leg.get("wait")
            outcome = leg.get("outcome")
            if outcome not in WAITED or not isinstance(wait, int | float) or wait < 0:
                continue
            queue = str(leg.get("queue"))
            self.waited[queue] += float(wait)
            self.abandons[queue] += outcome == "abandoned"

    def mean(self, queue: str) -> float | None:
        """Seconds, or None when no caller abandoned there (patience cannot be told)."""
        if not self.abandons[queue]:
            return None
        return round(self.waited[queue] / self.abandons[queue], 1)


def _key_of(menu: fm.Menu, kind: str, value: str, fuzzy: float) -> str | None:
    keys = choice_keys(menu)
    if kind == "dtmf" and menu.entry is not None:  # a recorded multi-key entry: as decided
        decided = menu.entry.finish(value)
        return keys[menu.entry.owners[decided.option]] if decided.option is not None else None
    if kind == "dtmf" or len(value) == 1:
        key = value[:1] if kind == "dtmf" else value
        for choice, name in zip(menu.choices, keys, strict=True):
            if key in choice.keys:
                return name
        return None
    spoken = speech.spoken_key(value)
    if spoken is not None:
        return _key_of(menu, "dtmf", spoken, fuzzy)
    match = speech.best_match(value, [c.phrases for c in menu.choices], fuzzy)
    return keys[match[0]] if match is not None else None


def _accepts(offer: fm.CallbackOffer, kind: str, value: str) -> bool | None:
    if kind == "dtmf":
        return True if value in offer.accept else False if value in offer.decline else None
    norm = speech.normalize(value)
    if norm in (speech.normalize(a) for a in offer.accept):
        return True
    if norm in (speech.normalize(d) for d in offer.decline):
        return False
    return speech.yes_no(value)


def fit_model(
    flow: fm.Flow, records: Iterable[dict[str, Any]], base: TrafficModel | None = None
) -> dict[str, Any]:
    """The model as YAML-ready data; `parse_model(yaml.safe_dump(data))` reads it back."""
    zone = hours_mod.zone(flow.settings.timezone)
    by_hour = [0] * 24
    by_weekday = [0] * 7
    dates: set[dt.date] = set()
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    answers: Counter[str] = Counter()  # valid or not, per state
    invalid: Counter[str] = Counter()
    choices: dict[str, Counter[str]] = defaultdict(Counter)
    accepted: Counter[str] = Counter()
    declined: Counter[str] = Counter()
    hangups: Counter[str] = Counter()
    lookups: dict[str, Counter[str]] = defaultdict(Counter)
    latency: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, Counter[str]] = defaultdict(Counter)  # state → noinput/nomatch
    total_noinput = total_nomatch = total_inputs = calls = 0
    with_failures = False  # records older than the `failures` field: per-call totals only
    base_ani = base.callers[0].ani if base else None
    waits = PatienceFit()
    for rec in records:
        if rec.get("flow") not in (None, flow.name):
            continue
        calls += 1
        waits.add(rec)
        local = dt.datetime.fromisoformat(rec["started_at"]).astimezone(zone)
        by_hour[local.hour] += 1
        by_weekday[local.weekday()] += 1
        dates.add(local.date())
        ani = rec.get("ani")
        if isinstance(ani, str) and "*" in ani:
            ani = base_ani
        pairs[(ani, rec.get("dnis"))] += 1
        total_noinput += int(rec.get("noinput", 0))
        total_nomatch += int(rec.get("nomatch", 0))
        if "failures" in rec:
            with_failures = True
            for f in rec["failures"]:
                failed[str(f.get("state"))][str(f.get("kind"))] += 1
        for entry in rec.get("inputs", []):
            name, kind, value = entry["state"], entry["kind"], str(entry["value"])
            state = flow.states.get(name)
            total_inputs += 1
            answers[name] += 1
            if isinstance(state, fm.Menu):
                key = _key_of(state, kind, value, flow.settings.fuzzy)
                if key is None:
                    invalid[name] += 1
                else:
                    choices[name][key] += 1
            elif isinstance(state, fm.CallbackOffer):
                verdict = _accepts(state, kind, value)
                if verdict is True:
                    accepted[name] += 1
                elif verdict is False:
                    declined[name] += 1
        outcome = rec.get("outcome", {})
        if outcome.get("kind") == "abandoned" and outcome.get("state"):
            hangups[outcome["state"]] += 1
        for lk in rec.get("lookups", []):
            fn = lk["function"]
            status = lk.get("status", "ok")
            lookups[fn]["ok" if status == "ok" else str(lk.get("reason") or status)] += 1
            if lk.get("latency_ms") is not None:
                latency[fn].append(float(lk["latency_ms"]) / 1000.0)

    days = max(1, (max(dates) - min(dates)).days + 1) if dates else 1
    weekday_days = Counter(
        (min(dates) + dt.timedelta(days=k)).weekday() for k in range(days)
    ) if dates else Counter()  # fmt: skip
    per_weekday = [by_weekday[w] / weekday_days[w] if weekday_days[w] else 0.0 for w in range(7)]
    seen = [v for w, v in enumerate(per_weekday) if weekday_days[w]]
    mean_day = sum(seen) / len(seen) if seen else 0.0
    weekdays = [round(v / mean_day, 3) if mean_day and weekday_days[w] else 1.0
                for w, v in enumerate(per_weekday)]  # fmt: skip
    attempts = total_inputs + total_noinput
    noinput = total_noinput / attempts if attempts else 0.05
    nomatch = total_nomatch / attempts if attempts else 0.03

    states: dict[str, Any] = {}
    for name in sorted(set(answers) | set(hangups) | set(failed)):
        state = flow.states.get(name)
        if not isinstance(state, fm.Menu | fm.Capture | fm.CallbackOffer):
            continue
        fitted: dict[str, Any] = {}
        # An attempt ends in an input (a wrong one included), a silence or a hang-up.
        tries = answers[name] + failed[name]["noinput"] + hangups[name]
        if tries:
            fitted["hangup"] = round(hangups[name] / tries, 4)
            if with_failures:
                fitted["noinput"] = round(failed[name]["noinput"] / tries, 4)
                fitted["nomatch"] = round(failed[name]["nomatch"] / tries, 4)
        if isinstance(state, fm.Menu) and choices[name]:
            valid = sum(choices[name].values())
            fitted["choices"] = {k: round(v / valid, 4) for k, v in choices[name].most_common()}
            if not with_failures:
                estimate = answers[name] + noinput * tries or 1
                fitted["nomatch"] = round(invalid[name] / estimate, 4)
        if isinstance(state, fm.CallbackOffer) and accepted[name] + declined[name]:
            fitted["accept"] = round(accepted[name] / (accepted[name] + declined[name]), 4)
        if fitted:
            states[name] = fitted

    fitted_lookups: dict[str, Any] = {}
    for fn, counts in lookups.items():
        total = sum(counts.values())
        ok_share = counts["ok"] / total
        base_ok = (
            [o for o in base.lookups[fn].outcomes if o.error is None]
            if base and fn in base.lookups
            else []
        )
        base_total = sum(o.share for o in base_ok)
        outcomes: list[dict[str, Any]] = []
        if base_ok and base_total > 0:
            for o in base_ok:
                row: dict[str, Any] = {"share": round(ok_share * o.share / base_total, 4)}
                if o.known:
                    row["result"] = o.result
                outcomes.append(row)
        elif ok_share:
            outcomes.append({"share": round(ok_share, 4)})
        for reason, n in counts.most_common():
            if reason != "ok":
                outcomes.append({"share": round(n / total, 4), "error": reason})
        mean_latency = sum(latency[fn]) / len(latency[fn]) if latency[fn] else 0.5
        fitted_lookups[fn] = {"latency": round(mean_latency, 3), "outcomes": outcomes}

    callers = [
        {"share": round(n / calls, 4), "ani": ani, "dnis": dnis}
        for (ani, dnis), n in pairs.most_common(MAX_SEGMENTS)
    ]
    data: dict[str, Any] = {
        "start": (
            base.start if base else min(dates) if dates else dt.date(2026, 11, 23)
        ).isoformat(),
        "days": base.days if base else 7,
        "arrivals": {
            "per_hour": [round(n / days, 3) for n in by_hour],
            "weekdays": weekdays,
        },
        "callers": callers or [{"share": 1.0, "ani": "+15555550100", "dnis": None}],
        "caller": {
            "noinput": round(noinput, 4),
            "nomatch": round(nomatch, 4),
            "hangup": round(
                sum(hangups.values()) / max(1, total_inputs + sum(hangups.values())), 4
            ),
        },
        "states": states,
        "lookups": fitted_lookups,
    }
    if base is not None:
        data["caller"].update({"think": base.think, "key_time": base.key_time})
        if base.conditions or base.unknown_condition != 0.5:
            data["conditions"] = {**base.conditions, "default": base.unknown_condition}
        if base.wpm or base.audio:
            data["speech"] = {
                "wpm": dict(base.wpm),
                "default_wpm": base.default_wpm,
                "audio": dict(base.audio),
            }
        data["target"] = f"{base.sl_target * 100:g}/{base.sl_threshold:g}"
    queues: dict[str, Any] = {}
    used = {s.queue for s in flow.states.values() if isinstance(s, fm.CallbackOffer)}
    used |= {q for s in flow.states.values() if isinstance(s, fm.Transfer) for q in s.queues}
    for q in sorted(used):
        spec = base.queues.get(q) if base else None
        if spec is None:
            queues[q] = dict(DEFAULT_QUEUE)
        else:
            queues[q] = {
                "agents": list(spec.schedule) if spec.schedule else spec.agents,
                "aht": spec.aht,
                "patience": spec.patience,
                "handle": spec.handle,
                "handle_cv": spec.handle_cv,
                "callback_dial": spec.callback_dial,
            }
        patience = waits.mean(q)
        if patience is not None:
            queues[q]["patience"] = patience
    data["queues"] = queues
    return data


def describe_fit(data: dict[str, Any], calls: int) -> str:
    """A header for a written model: where it came from and what is not in records."""
    return (
        f"# Fitted by `ivrflow traffic --fit` from {calls} call records.\n"
        "# Queues' agents and AHT, conditions and speech rates are not in records (patience\n"
        "# is, where callers abandoned in queue):\n"
        "# they come from the base --model, or defaults — set them to your center's.\n"
    )
