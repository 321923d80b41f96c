"""Prometheus figures of a running gateway (`serve agi|webhook --metrics HOST:PORT`).

One `Metrics` per Engine, with its own registry (two engines in one process never mix their
counts). The Engine calls it at a call's start and end, after each look-up, transfer result and
callback request; everything else is read when Prometheus scrapes (spool depths, sink
failures). docs/operations.md lists every metric; names follow Prometheus' conventions
(`ivrflow_` prefix, base units, `_total` on counters, `_seconds` on durations).

Most figures of a call come from its record, once, when it ends: the states it entered, its
no-inputs and no-matches, its outcome and duration. That is one pass over a small dict per
call instead of a hook per event, and it counts the same thing whichever gateway (or worker)
served the call's steps. The label children are cached here: `labels()` takes a lock and
builds a key on every call.

prometheus-client is an optional extra (`ivrflow[metrics]`); `available()` says whether it is
installed and `MISSING` what to install.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import Iterator
from importlib.util import find_spec
from typing import Any

from ..runtime import events as ev
from .health import spool_depth

MISSING = "ivrflow serve --metrics needs prometheus-client: install ivrflow[metrics]"
LOOP_LAG_EVERY = 0.5  # seconds between event-loop lag probes

# Buckets in seconds. Look-ups: a CRM answers in tens to hundreds of ms, a timeout is seconds.
LOOKUP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CALL_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0, 3600.0)
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def available() -> bool:
    try:
        return find_spec("prometheus_client") is not None
    except (ImportError, ValueError):
        return False


class Metrics:
    """The gateway's counters, gauges and histograms, in `registry` (a fresh one by default)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.lookup_seconds = Histogram(
            "ivrflow_lookup_duration_seconds",
            "Time a look-up function took to answer (or to fail), by function.",
            ["function"],
            buckets=LOOKUP_BUCKETS,
            registry=r,
        )
        self.lookup_errors = Counter(
            "ivrflow_lookup_errors",
            "Look-ups that failed, by function and reason (error, timeout).",
            ["function", "reason"],
            registry=r,
        )
        self.transfers = Counter(
            "ivrflow_transfers",
            "Transfer results, by flow and status (answered, busy, noanswer, full, failed).",
            ["flow", "status"],
            registry=r,
        )
        self.callbacks = Counter(
            "ivrflow_callback_requests",
            "Callback requests, by flow and result: stored, spooled (the store refused it; "
            "kept in its spool), failed (neither).",
            ["flow", "result"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "ivrflow_event_loop_lag_seconds",
            "How late the event loop ran a timer: time other calls waited for the loop.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self._sources: list[tuple[str, Any]] = []  # (name, sink or store with a spool)
        r.register(_SpoolCollector(self._sources))
        # The per-call figures: plain tallies under one lock per call (a prometheus-client
        # child per state would take its own lock for each of the dozen states of a call),
        # turned into metric families when scraped.
        self._lock = threading.Lock()
        self._tallies: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in _TALLIED}
        # flow → [count per bucket (the last one +Inf)…, sum, count]
        self._durations: dict[str, list[float]] = {}
        r.register(_TallyCollector(self))
        self._children: dict[tuple[Any, ...], Any] = {}

    # ------------------------------------------------------------ what the Engine reports
    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def call_started(self, flow: str) -> None:
        key = (flow,)
        with self._lock:
            started, live = self._tallies["started"], self._tallies["in_progress"]
            started[key] = started.get(key, 0) + 1
            live[key] = live.get(key, 0) + 1

    def call_ended(self, record: dict[str, Any]) -> None:
        flow = str(record.get("flow"))
        outcome = str((record.get("outcome") or {}).get("kind"))
        duration = record.get("duration")
        path = record.get("path") or ()
        failures = record.get("failures") or ()
        t = self._tallies
        with self._lock:
            live, ended, states = t["in_progress"], t["ended"], t["states"]
            live[(flow,)] = live.get((flow,), 0) - 1
            ended[(flow, outcome)] = ended.get((flow, outcome), 0) + 1
            for step in path:
                key = (flow, str(step.get("state")))
                states[key] = states.get(key, 0) + 1
            for failure in failures:
                counts = t["noinput"] if failure.get("kind") == "noinput" else t["nomatch"]
                key = (flow, str(failure.get("state")))
                counts[key] = counts.get(key, 0) + 1
            if isinstance(duration, int | float):
                histogram = self._durations.get(flow)
                if histogram is None:
                    histogram = self._durations[flow] = [0.0] * (len(CALL_BUCKETS) + 3)
                histogram[bisect.bisect_left(CALL_BUCKETS, duration)] += 1
                histogram[-2] += duration
                histogram[-1] += 1

    def snapshot(self) -> tuple[dict[str, dict[tuple[str, ...], float]], dict[str, list[float]]]:
        with self._lock:
            return (
                {name: dict(values) for name, values in self._tallies.items()},
                {flow: list(h) for flow, h in self._durations.items()},
            )

    def lookup(self, function: str, seconds: float, answer: ev.Event) -> None:
        self._child(self.lookup_seconds, function).observe(seconds)
        if type(answer) is ev.LookupFailed:
            reason = "timeout" if answer.timed_out else "error"
            self._child(self.lookup_errors, function, reason).inc()

    def transfer(self, flow: str, status: str) -> None:
        self._child(self.transfers, flow, status).inc()

    def callback(self, flow: str, result: str) -> None:
        self._child(self.callbacks, flow, result).inc()

    # ------------------------------------------------------------ read at scrape time
    def watch_spools(self, **sources: Any) -> None:
        """Report the spool depth (and, for sinks, the failures) of these at each scrape:
        `records=sink, callbacks=store`; None is skipped."""
        self._sources.extend((name, s) for name, s in sources.items() if s is not None)

    async def watch_loop(self, every: float = LOOP_LAG_EVERY) -> None:
        """Measure the event loop's lag until cancelled (a task on the serving loop)."""
        while True:
            began = time.perf_counter()
            await asyncio.sleep(every)
            self.loop_lag.observe(max(0.0, time.perf_counter() - began - every))

    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


# name → (metric name, type, help, labels) of the tallied per-call figures.
_TALLIED: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "started": ("ivrflow_calls_started", "counter", "Calls that started, by flow.", ("flow",)),
    "in_progress": (
        "ivrflow_calls_in_progress",
        "gauge",
        "Calls started and not ended yet (per worker: started minus ended there).",
        ("flow",),
    ),
    "ended": (
        "ivrflow_calls_ended",
        "counter",
        "Calls that ended, by flow and outcome (self_served, transferred, callback_scheduled, "
        "abandoned, error).",
        ("flow", "outcome"),
    ),
    "states": (
        "ivrflow_state_entries",
        "counter",
        "States entered by calls that ended, by flow and state.",
        ("flow", "state"),
    ),
    "noinput": (
        "ivrflow_noinput",
        "counter",
        "No-input events (the caller said or pressed nothing in time), by flow and state.",
        ("flow", "state"),
    ),
    "nomatch": (
        "ivrflow_nomatch",
        "counter",
        "No-match events (input the state did not accept), by flow and state.",
        ("flow", "state"),
    ),
}


class _TallyCollector:
    """The per-call tallies of a `Metrics`, as metric families at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        tallies, durations = self.metrics.snapshot()
        for name, (metric, kind, text, labels) in _TALLIED.items():
            family_type = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = family_type(metric, text, labels=list(labels))
            for values, value in sorted(tallies[name].items()):
                family.add_metric(list(values), value)
            yield family
        histogram = HistogramMetricFamily(
            "ivrflow_call_duration_seconds",
            "Time from a call's start to its end, by flow.",
            labels=["flow"],
        )
        for flow, counts in sorted(durations.items()):
            cumulative, buckets = 0.0, []
            for bound, n in zip((*CALL_BUCKETS, float("inf")), counts[:-2], strict=True):
                cumulative += n
                buckets.append((repr(bound) if bound != float("inf") else "+Inf", cumulative))
            histogram.add_metric([flow], buckets, counts[-2])
        yield histogram


class _SpoolCollector:
    """Spool depths and record-sink failures, read when scraped (nothing to keep in sync)."""

    def __init__(self, sources: list[tuple[str, Any]]) -> None:
        self.sources = sources

    def describe(self) -> list[Any]:
        return []  # computed per scrape; the registry need not know the names in advance

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        depth = GaugeMetricFamily(
            "ivrflow_spool_depth",
            "Entries waiting in a spool for their store to take them back (records, callbacks).",
            labels=["spool"],
        )
        failures = CounterMetricFamily(
            "ivrflow_record_sink_failures",
            "Records the record sink refused (each then spooled, or lost if the spool failed).",
            labels=["sink"],
        )
        for name, source in self.sources:
            found = spool_depth(source)
            if found is not None:
                depth.add_metric([name], found)
            if hasattr(source, "failures"):
                failures.add_metric([name], float(source.failures))
        yield depth
        yield failures


__all__ = ["LOOP_LAG_EVERY", "MISSING", "Metrics", "available"]
