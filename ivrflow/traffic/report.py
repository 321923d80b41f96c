"""The text report of `ivrflow traffic`: the IVR, each queue, the sweep, what was assumed."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .results import Estimate, QueueFigures, Summary, SweepRow

if TYPE_CHECKING:
    from .queue import QueueSpec

__all__ = ["render_sweep", "render_text", "replaced_staffing", "sweep_answer"]


def replaced_staffing(spec: QueueSpec) -> str:
    """What the model staffs `spec` with, as the sweep's rows replace it: "the model's 12
    agents", or "the model's schedule: 00-08 0, 08-12 10, 12-18 14, 18-24 4" (hours of the
    day, each span with its agents)."""
    if spec.schedule is None:
        return f"the model's {spec.agents} agents"
    spans, start = [], 0
    for hour in range(1, 25):
        if hour == 24 or spec.schedule[hour] != spec.schedule[start]:
            spans.append(f"{start:02d}-{hour:02d} {spec.schedule[start]}")
            start = hour
    return "the model's schedule: " + ", ".join(spans)


def _pct(e: Estimate) -> str:
    if math.isnan(e.mean):
        return "—"
    half = "" if math.isinf(e.half) else f" ± {e.half * 100:.1f}"
    return f"{e.mean * 100:.1f} %{half}"


def _num(e: Estimate, unit: str = "", digits: int = 1) -> str:
    if math.isnan(e.mean):
        return "—"
    if math.isinf(e.mean):
        return "∞"
    half = "" if math.isinf(e.half) else f" ± {e.half:,.{digits}f}"
    return f"{e.mean:,.{digits}f}{half}{unit}"


def _queue_lines(q: QueueFigures, s: Summary) -> list[str]:
    patience = "never abandon" if q.patience is None else f"patience {q.patience:g} s"
    staff = f"up to {q.agents} agents by hour" if q.schedule else f"{q.agents} agents"
    head = f"  {q.name}: {staff}, AHT {q.aht:g} s, callers {patience}"
    lines = [head]
    lines.append(f"    calls offered per day    {_num(q.offered_per_day)}")
    lines.append(
        f"    offered load             {_num(q.offered_load, ' Erlangs', 2)} (busiest hour {_num(q.peak_load, ' Erlangs', 2)})"
    )
    if q.unstable:
        lines.append(
            f"    UNSTABLE: {q.peak_load.mean:.2f} Erlangs in the busiest hour, more than the "
            "agents on duty in some hour, and callers never give up: the wait grows without bound. "
            "Add agents or model patience."
        )
        return lines
    sl = f"service level ({s.sl_target * 100:g}/{s.sl_threshold:g})"
    lines.append(f"    {sl:<25}{_pct(q.service_level)}")
    lines.append(f"    ASA                      {_num(q.asa, ' s')}")
    lines.append(f"    abandonment              {_pct(q.abandonment)}")
    lines.append(f"    P(wait)                  {_pct(q.p_wait)}")
    lines.append(f"    occupancy                {_pct(q.occupancy)}")
    if q.callbacks_per_day.mean:
        lines.append(
            f"    callbacks per day        {_num(q.callbacks_per_day)}, "
            f"mean delay {_num(q.callback_delay, ' s', 0)}"
        )
    return lines


def render_text(s: Summary, title: str) -> str:
    out = [
        title,
        f"{s.days} days, {s.replications} replications; ± is the 95 % confidence half-width",
        "",
        "IVR",
        f"  calls per day            {_num(s.calls_per_day)}",
        f"  containment              {_pct(s.containment)}",
        f"  transferred to a queue   {_pct(s.outcome_shares['transferred'])}",
        f"  callback scheduled       {_pct(s.outcome_shares['callback_scheduled'])}",
        f"  hung up in the IVR       {_pct(s.outcome_shares['abandoned'])}",
        f"  error                    {_pct(s.outcome_shares['error'])}",
        f"  time in IVR, all calls   {_num(s.ivr_time, ' s')}",
        f"  time in IVR, to a queue  {_num(s.ivr_time_transferred, ' s')}",
    ]
    if s.abandoned_in:
        top = ", ".join(f"{k} {v * 100:.1f} %" for k, v in list(s.abandoned_in.items())[:5])
        out.append(f"  hang-ups by state        {top}")
    out += ["", "Queues"]
    for q in s.queues:
        out += _queue_lines(q, s)
    if s.assumed:
        out += ["", "Assumed (the model gives no value for these; add them under `conditions:`)"]
        for key, share in s.assumed.items():
            guess = (
                "each case equally often" if share < 0 else f"true {share * 100:g} % of the time"
            )
            out.append(f"  {key}: {guess}")
    return "\n".join(out) + "\n"


def sweep_answer(rows: list[SweepRow], target: float) -> SweepRow | None:
    """The fewest agents whose mean service level meets the target."""
    return next(
        (r for r in rows if not r.figures.unstable and r.figures.service_level.mean >= target),
        None,
    )


def render_sweep(
    rows: list[SweepRow],
    queue: str,
    target: float,
    threshold: float,
    replaced: str | None = None,
) -> str:
    """The sweep's table and its answer; `replaced` (`replaced_staffing`) says what each row's
    agents, on duty all day, stand in for."""
    out = [
        f"Agents for queue {queue} (target {target * 100:g}/{threshold:g}); ± is the 95 % "
        "confidence half-width",
    ]
    if replaced is not None and rows:
        agents = (
            f"{rows[0].agents} agents"
            if len(rows) == 1
            else f"{rows[0].agents}..{rows[-1].agents} agents"
        )
        out.append(f"  {agents} all day replace {replaced}")
    out.append(f"  {'agents':>6}  {'service level':<16}{'ASA':<16}{'abandonment':<16}occupancy")
    for r in rows:
        f = r.figures
        if f.unstable:
            out.append(
                f"  {r.agents:>6}  unstable: {f.peak_load.mean:.2f} Erlangs ≥ {r.agents} agents"
            )
            continue
        out.append(
            f"  {r.agents:>6}  {_pct(f.service_level):<16}{_num(f.asa, ' s'):<16}"
            f"{_pct(f.abandonment):<16}{_pct(f.occupancy)}"
        )
    best = sweep_answer(rows, target)
    if best is None:
        out.append(
            f"→ no staffing in {rows[0].agents}..{rows[-1].agents} meets {target * 100:g}/{threshold:g}"
        )
    else:
        sl = best.figures.service_level
        sure = (
            ""
            if sl.low >= target
            else " (its interval still reaches below the target: add a replication or an agent)"
        )
        out.append(
            f"→ {best.agents} agents meet {target * 100:g}/{threshold:g}: service level "
            f"{sl.mean * 100:.1f} % (95 % CI {max(0.0, sl.low) * 100:.1f}–"
            f"{min(1.0, sl.high) * 100:.1f} %){sure}"
        )
    return "\n".join(out) + "\n"
