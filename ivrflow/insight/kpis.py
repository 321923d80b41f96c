"""Fold call records into contact-center figures, one record at a time.

`Report.add(record, started)` updates counters and keeps one number per call for the
percentiles (time in IVR) and one per look-up (latency): no record is held, so a
million records need a few tens of megabytes. `Report.result()` gives the report as
plain JSON data (the schema is in docs/metrics.md), which `render` and `page` draw.
Every figure's definition is in docs/metrics.md; the comments here say how.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import speech
from ..runtime.record import OUTCOMES, TRANSFER_TARGETS
from .queue_kpis import DEFAULT_SHORT_ABANDON, DEFAULT_SL_TARGETS, QueueReport
from .stats import percentile, ratio
from .stats import rounded as _r

SCHEMA = "ivrflow.report/1"
INPUT_KINDS = ("menu", "capture", "callback")  # the states that ask the caller something


# ---------------------------------------------------------------- what the flows tell us


@dataclass(frozen=True)
class FlowInfo:
    """What a report needs from a flow that records do not carry: each state's kind (in the
    file's order) and the words and keys that accept or decline a callback offer."""

    name: str
    kinds: dict[str, str]
    accept: dict[str, tuple[str, ...]] = field(default_factory=dict)
    decline: dict[str, tuple[str, ...]] = field(default_factory=dict)
    content_hash: str | None = None  # the flow file's; records carry theirs as `flow_hash`


def flow_info(path: str | Path) -> FlowInfo:
    """Compile a flow file and keep what the report needs (raises the compiler's errors)."""
    from .. import model
    from ..compiler import load

    flow = load(path)
    kinds = {name: model.STATE_KINDS[type(state)] for name, state in flow.states.items()}
    accept, decline = {}, {}
    for name, state in flow.states.items():
        if isinstance(state, model.CallbackOffer):
            accept[name] = tuple(speech.normalize(a) for a in state.accept)
            decline[name] = tuple(speech.normalize(d) for d in state.decline)
    return FlowInfo(flow.name, kinds, accept, decline, flow.content_hash)


def offer_answer(info: FlowInfo, state: str, entry: dict[str, Any]) -> bool | None:
    """True when an input in a callback offer accepts it, False when it declines, else None.
    The same rule as the interpreter: the offer's keys and phrases, then a spoken yes/no."""
    value = entry.get("value")
    if not isinstance(value, str):
        return None
    norm = speech.normalize(value)
    accept, decline = info.accept.get(state, ()), info.decline.get(state, ())
    if norm in accept:
        return True
    if norm in decline:
        return False
    if entry.get("kind") == "speech":
        return speech.yes_no(value)
    return None


# ---------------------------------------------------------------- statistics


def _nice_bin(span: float) -> float:
    """A bin width in seconds, from a readable list, giving about 20 bins over `span`."""
    for width in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600):
        if span / width <= 20:
            return float(width)
    return 3600.0


# ---------------------------------------------------------------- the accumulators


@dataclass
class _Tally:
    """Outcome counts and time in IVR for one slice of the calls (all, a flow, a period)."""

    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    durations: array[float] | None = None  # kept only where percentiles are reported

    def add(self, kind: str, duration: float) -> None:
        self.calls += 1
        self.outcomes[kind] += 1
        self.seconds += duration
        if self.durations is not None:
            self.durations.append(duration)

    def figures(self) -> dict[str, Any]:
        n = self.calls
        out: dict[str, Any] = {"calls": n}
        for kind in OUTCOMES:
            out[kind] = self.outcomes.get(kind, 0)
        out["containment_rate"] = ratio(self.outcomes["self_served"], n)
        out["transfer_rate"] = ratio(self.outcomes["transferred"], n)
        out["callback_rate"] = ratio(self.outcomes["callback_scheduled"], n)
        out["abandonment_rate"] = ratio(self.outcomes["abandoned"], n)
        out["error_rate"] = ratio(self.outcomes["error"], n)
        out["time_in_ivr_mean_s"] = _r(self.seconds / n) if n else None
        if self.durations is not None:
            ordered = sorted(self.durations)
            out["time_in_ivr_p50_s"] = _r(percentile(ordered, 50))
            out["time_in_ivr_p90_s"] = _r(percentile(ordered, 90))
        return out


@dataclass
class _Quality:
    """No-input, no-match, look-up and callback figures for one slice (all calls, a flow)."""

    noinput: int = 0
    nomatch: int = 0
    calls_noinput: int = 0
    calls_nomatch: int = 0
    lookups: int = 0
    lookups_failed: int = 0
    offered: int = 0
    accepted: int = 0
    declined: int = 0
    offers_known: bool = False  # at least one record's flow is known: offers can be counted

    def take(
        self, noinput: int, nomatch: int, lookups: int, failed: int, offer: str | None
    ) -> None:
        """One call: its no-input and no-match totals, look-ups, and callback offer (None
        when the flow is unknown)."""
        self.noinput += noinput
        self.nomatch += nomatch
        self.calls_noinput += noinput > 0
        self.calls_nomatch += nomatch > 0
        self.lookups += lookups
        self.lookups_failed += failed
        if offer is None:
            return
        self.offers_known = True
        self.offered += offer != "none"
        self.accepted += offer == "accepted"
        self.declined += offer == "declined"

    def figures(self, calls: int) -> dict[str, Any]:
        known = self.offers_known
        return {
            "noinput_per_call": ratio(self.noinput, calls),
            "nomatch_per_call": ratio(self.nomatch, calls),
            "calls_with_noinput_rate": ratio(self.calls_noinput, calls),
            "calls_with_nomatch_rate": ratio(self.calls_nomatch, calls),
            "lookups": self.lookups,
            "lookup_error_rate": ratio(self.lookups_failed, self.lookups),
            "callbacks_offered": self.offered if known else None,
            "callbacks_accepted": self.accepted if known else None,
            "callbacks_declined": self.declined if known else None,
            "callback_acceptance_rate": ratio(self.accepted, self.offered) if known else None,
        }


def _offer(record: dict[str, Any], info: FlowInfo, entered: set[str]) -> str:
    """'none' (no offer made), 'accepted', 'declined' or 'unanswered', for one call."""
    offers = {state for state in entered if info.kinds.get(state) == "callback"}
    if not offers:
        return "none"
    answers = [
        offer_answer(info, entry["state"], entry)
        for entry in record.get("inputs", ())
        if isinstance(entry, dict) and entry.get("state") in offers
    ]
    if True in answers:
        return "accepted"
    return "declined" if False in answers else "unanswered"


@dataclass
class _StateStats:
    kind: str | None = None
    entered: int = 0  # calls that entered it at least once
    visits: int = 0
    abandoned: int = 0  # calls that hung up while in it
    errors: int = 0  # calls that ended in error in it
    inputs: int = 0
    noinput: int = 0
    nomatch: int = 0
    calls_noinput: int = 0
    calls_nomatch: int = 0


@dataclass
class _LookupStats:
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: array[float] = field(default_factory=lambda: array("d"))


class Report:
    """The running totals of a report; `add` every record, then `result()`."""

    def __init__(
        self,
        *,
        by: str = "day",
        zone: dt.tzinfo = dt.UTC,
        flows: dict[str, FlowInfo] | None = None,
        resolve: Callable[[str], FlowInfo | None] | None = None,
        sl_targets: tuple[float, ...] = DEFAULT_SL_TARGETS,
        short_abandon: float = DEFAULT_SHORT_ABANDON,
    ) -> None:
        if by not in ("hour", "day"):
            raise ValueError(f"group by 'hour' or 'day', not '{by}'")
        self.by, self.zone = by, zone
        self.flows = dict(flows or {})
        self._resolve = resolve
        self._unresolved: set[str] = set()
        self.total = _Tally(durations=array("d"))
        self.quality = _Quality()
        self.per_flow: dict[str, _Tally] = {}
        self.per_flow_quality: dict[str, _Quality] = defaultdict(_Quality)
        self.periods: dict[str, _Tally] = defaultdict(_Tally)
        self.first: float | None = None
        self.last: float | None = None
        self.targets: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        self.states: dict[tuple[str, str], _StateStats] = defaultdict(_StateStats)
        self.lookups: dict[tuple[str, str], _LookupStats] = defaultdict(_LookupStats)
        self.with_failures = 0  # records that say where their no-inputs/no-matches were
        self._labels: dict[int, str] = {}
        self.other_version: Counter[str] = Counter()  # records of another version of the file
        self.queue_leg = QueueReport(zone, sl_targets, short_abandon)

    # ------------------------------------------------------------ one record
    def add(self, record: dict[str, Any], started: float) -> None:
        flow = record["flow"]
        outcome = record["outcome"]
        kind = outcome["kind"]
        duration = float(record["duration"])
        self.total.add(kind, duration)
        tally = self.per_flow.get(flow)
        if tally is None:
            tally = self.per_flow[flow] = _Tally(durations=array("d"))
        tally.add(kind, duration)
        self.periods[self._period(started)].add(kind, duration)
        self.first = started if self.first is None else min(self.first, started)
        self.last = started if self.last is None else max(self.last, started)

        if kind == "transferred":
            found = [k for k in TRANSFER_TARGETS if outcome.get(k)]
            target = (found[0], outcome[found[0]]) if found else ("number", None)
            row = self.targets[(flow, target[0], str(target[1]))]
            row[0] += 1
            row[1] += duration

        info = self._info(flow)
        if info is not None and info.content_hash not in (None, record.get("flow_hash")):
            self.other_version[flow] += 1
        entered = self._states(record, flow, outcome)
        lookups = failed = 0
        for entry in record.get("lookups", ()):
            if not isinstance(entry, dict):
                continue
            status = str(entry.get("status"))
            lookups += 1
            failed += status in ("error", "timeout")
            stats = self.lookups[(flow, str(entry.get("function")))]
            stats.statuses[status] += 1
            latency = entry.get("latency_ms")
            if isinstance(latency, int | float) and type(latency) is not bool:
                stats.latencies.append(float(latency))
        if "queue" in record:
            self.queue_leg.add(record, started)
        offer = _offer(record, info, entered) if info is not None else None
        noinput, nomatch = record.get("noinput", 0), record.get("nomatch", 0)
        for q in (self.quality, self.per_flow_quality[flow]):
            q.take(noinput, nomatch, lookups, failed, offer)

    def _info(self, flow: str) -> FlowInfo | None:
        """The flow's info: given, or found once by `resolve` (a flow file beside the records)."""
        info = self.flows.get(flow)
        if info is None and self._resolve is not None and flow not in self._unresolved:
            info = self._resolve(flow)
            if info is None:
                self._unresolved.add(flow)
            else:
                self.flows[flow] = info
        return info

    def _period(self, started: float) -> str:
        # Every UTC offset is a multiple of 15 minutes: a quarter-hour has one local label.
        quarter = int(started // 900)
        label = self._labels.get(quarter)
        if label is None:
            local = dt.datetime.fromtimestamp(quarter * 900, self.zone)
            label = local.strftime("%Y-%m-%d %H:00" if self.by == "hour" else "%Y-%m-%d")
            self._labels[quarter] = label
        return label

    def _states(self, record: dict[str, Any], flow: str, outcome: dict[str, Any]) -> set[str]:
        """Count the call's visits, hang-up and inputs per state; return the states entered."""
        seen: set[str] = set()
        states = self.states
        for step in record["path"]:
            name = step["state"]
            stats = states[(flow, name)]
            stats.visits += 1
            if name not in seen:
                seen.add(name)
                stats.entered += 1
        where = outcome.get("state")
        if isinstance(where, str):
            if outcome["kind"] == "abandoned":
                self.states[(flow, where)].abandoned += 1
            elif outcome["kind"] == "error":
                self.states[(flow, where)].errors += 1
        for entry in record.get("inputs", ()):
            if isinstance(entry, dict) and isinstance(entry.get("state"), str):
                self.states[(flow, entry["state"])].inputs += 1
        failures = record.get("failures")
        if failures is None:
            return seen
        # Records that say in which state each no-input and no-match happened.
        self.with_failures += 1
        per_state: dict[str, Counter[str]] = defaultdict(Counter)
        for entry in failures:
            if isinstance(entry, dict) and entry.get("kind") in ("noinput", "nomatch"):
                per_state[str(entry.get("state"))][entry["kind"]] += 1
        for name, counts in per_state.items():
            stats = self.states[(flow, name)]
            stats.noinput += counts["noinput"]
            stats.nomatch += counts["nomatch"]
            stats.calls_noinput += counts["noinput"] > 0
            stats.calls_nomatch += counts["nomatch"] > 0
        return seen

    # ------------------------------------------------------------ the report
    def result(self, source: dict[str, Any] | None = None) -> dict[str, Any]:
        calls = self.total.calls
        summary = self.total.figures() | self.quality.figures(calls)
        flows = []
        for name in sorted(self.per_flow):
            tally = self.per_flow[name]
            row = {"flow": name} | tally.figures()
            flows.append(row | self.per_flow_quality[name].figures(tally.calls))
        return {
            "schema": SCHEMA,
            "source": source or {},
            "summary": summary,
            "flows": flows,
            "queues": self._queues(),
            "over_time": {"by": self.by, "timezone": str(self.zone), "rows": self._over_time()},
            "time_in_ivr_histogram": self._histogram(),
            "funnel": self._funnel(),
            "input_states": self._input_states(),
            "lookups": self._lookups(),
            "queue_leg": self.queue_leg.result(),
            "notes": self._notes(),
        }

    def _queues(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (flow, kind, target), (count, seconds) in sorted(self.targets.items()):
            flow_calls = self.per_flow[flow].calls
            rows.append(
                {
                    "flow": flow,
                    "target": target,
                    "kind": kind,
                    "transfers": int(count),
                    "transfer_rate": ratio(count, flow_calls),
                    "share_of_transfers": ratio(count, self.per_flow[flow].outcomes["transferred"]),
                    "time_in_ivr_mean_s": _r(seconds / count),
                }
            )
        return rows

    def _over_time(self) -> list[dict[str, Any]]:
        if self.first is None or self.last is None:
            return []
        # Every period from the first call to the last, the quiet ones too (a chart's gaps).
        labels: list[str] = []
        if self.by == "day":
            day = dt.datetime.fromtimestamp(self.first, self.zone).date()
            last = dt.datetime.fromtimestamp(self.last, self.zone).date()
            while day <= last:
                labels.append(day.isoformat())
                day += dt.timedelta(days=1)
        else:
            at = self.first // 3600 * 3600
            while at <= self.last:
                label = self._period(at)
                if not labels or labels[-1] != label:  # the hour that repeats when DST ends
                    labels.append(label)
                at += 3600
        rows: list[dict[str, Any]] = []
        for label in labels:
            tally = self.periods.get(label, _Tally())
            figures = tally.figures()
            rows.append({"period": label} | figures)
        return rows

    def _histogram(self) -> dict[str, Any]:
        durations = sorted(self.total.durations or ())
        if not durations:
            return {"bin_s": None, "bins": []}
        top = percentile(durations, 99) or durations[-1]
        width = _nice_bin(top)
        count = max(1, math.ceil(top / width))
        bins = [0] * (count + 1)  # the last: everything from count × width up
        for value in durations:
            bins[min(count, int(value // width))] += 1
        out = []
        for i, n in enumerate(bins):
            last = i == count
            out.append({"from_s": i * width, "to_s": None if last else (i + 1) * width, "calls": n})
        if out[-1]["calls"] == 0:
            out.pop()
            out[-1]["to_s"] = count * width
        return {"bin_s": width, "bins": out}

    def _funnel(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (flow, state), stats in self.states.items():
            if not stats.entered:
                continue
            info = self.flows.get(flow)
            rows.append(
                {
                    "flow": flow,
                    "state": state,
                    "kind": info.kinds.get(state) if info else None,
                    "entered": stats.entered,
                    "reach_rate": ratio(stats.entered, self.per_flow[flow].calls),
                    "visits": stats.visits,
                    "abandoned": stats.abandoned,
                    "drop_off_rate": ratio(stats.abandoned, stats.entered),
                    "errors": stats.errors,
                }
            )
        rows.sort(key=lambda r: (r["flow"], -r["entered"], r["state"]))
        return rows

    def _input_states(self) -> list[dict[str, Any]]:
        known = self.with_failures > 0
        rows: list[dict[str, Any]] = []
        for (flow, state), stats in self.states.items():
            info = self.flows.get(flow)
            kind = info.kinds.get(state) if info else None
            asks = kind in INPUT_KINDS if info else (stats.inputs or stats.noinput or stats.nomatch)
            if not asks or not stats.visits:
                continue
            rows.append(
                {
                    "flow": flow,
                    "state": state,
                    "kind": kind,
                    "calls": stats.entered,
                    "visits": stats.visits,
                    "inputs": stats.inputs,
                    "noinput": stats.noinput if known else None,
                    "nomatch": stats.nomatch if known else None,
                    "noinput_per_visit": ratio(stats.noinput, stats.visits) if known else None,
                    "nomatch_per_visit": ratio(stats.nomatch, stats.visits) if known else None,
                    "calls_with_noinput_rate": ratio(stats.calls_noinput, stats.entered)
                    if known
                    else None,
                    "calls_with_nomatch_rate": ratio(stats.calls_nomatch, stats.entered)
                    if known
                    else None,
                }
            )
        rows.sort(key=lambda r: (r["flow"], -r["visits"], r["state"]))
        return rows

    def _lookups(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (flow, function), stats in sorted(self.lookups.items()):
            total = sum(stats.statuses.values())
            ordered = sorted(stats.latencies)
            rows.append(
                {
                    "flow": flow,
                    "function": function,
                    "lookups": total,
                    "ok": stats.statuses.get("ok", 0),
                    "error": stats.statuses.get("error", 0),
                    "timeout": stats.statuses.get("timeout", 0),
                    "error_rate": ratio(total - stats.statuses.get("ok", 0), total),
                    "latency_p50_ms": _r(percentile(ordered, 50)),
                    "latency_p90_ms": _r(percentile(ordered, 90)),
                }
            )
        return rows

    def _notes(self) -> list[str]:
        notes = []
        if self.total.calls and not self.with_failures:
            notes.append(
                "No-input and no-match per menu need records that say in which state each "
                "happened (a 'failures' list); these records carry only per-call totals."
            )
        unknown = sorted(set(self.per_flow) - set(self.flows))
        if unknown:
            notes.append(
                "Flow file not found for "
                + ", ".join(unknown)
                + ": callback offers and state kinds are not known for it (see --flows)."
            )
        for flow, n in sorted(self.other_version.items()):
            notes.append(
                f"{n:,} {flow} record(s) came from another version of the flow than the file "
                "read for state kinds and callback offers; their states the file lacks are "
                "shown without a kind."
            )
        return notes


def build(
    records: Iterable[tuple[dict[str, Any], float]],
    *,
    by: str = "day",
    zone: dt.tzinfo = dt.UTC,
    flows: dict[str, FlowInfo] | None = None,
    resolve: Callable[[str], FlowInfo | None] | None = None,
    sl_targets: tuple[float, ...] = DEFAULT_SL_TARGETS,
    short_abandon: float = DEFAULT_SHORT_ABANDON,
) -> Report:
    """A report over `records` (pairs of a record and its start, as `records_input.read`
    yields them)."""
    report = Report(
        by=by,
        zone=zone,
        flows=flows,
        resolve=resolve,
        sl_targets=sl_targets,
        short_abandon=short_abandon,
    )
    for record, started in records:
        report.add(record, started)
    return report


__all__ = [
    "INPUT_KINDS",
    "SCHEMA",
    "FlowInfo",
    "Report",
    "build",
    "flow_info",
    "offer_answer",
    "percentile",
    "ratio",
]
