"""The HTML report of `ivrflow traffic --html`: the text report's figures as tables, plus
charts from `ivrflow.charts` (arrivals and service level by hour, outcomes, time in IVR,
the funnel, the sweep). One self-contained page: no script, no outside request."""

from __future__ import annotations

import html
import math

from ..insight import charts
from .report import sweep_answer
from .results import Estimate, Summary, SweepRow

__all__ = ["render_html"]


def _cell(e: Estimate, percent: bool = False, unit: str = "") -> str:
    if math.isnan(e.mean):
        return "—"
    scale = 100.0 if percent else 1.0
    suffix = " %" if percent else unit
    half = "" if math.isinf(e.half) else f" ± {e.half * scale:,.1f}"
    return html.escape(f"{e.mean * scale:,.1f}{half}{suffix}")


def _zero_nan(values: tuple[float, ...] | list[float], scale: float = 1.0) -> list[float]:
    return [0.0 if math.isnan(v) else v * scale for v in values]


def render_html(
    s: Summary, title: str, rows: list[SweepRow] | None = None, queue: str | None = None
) -> str:
    hours = [f"{h:02d}h" for h in range(24)]
    target = f"{s.sl_target * 100:g}/{s.sl_threshold:g}"
    ivr = [
        ("calls per day", _cell(s.calls_per_day)),
        ("containment (self-served)", _cell(s.containment, True)),
        ("transferred to a queue", _cell(s.outcome_shares["transferred"], True)),
        ("callback scheduled", _cell(s.outcome_shares["callback_scheduled"], True)),
        ("hung up in the IVR", _cell(s.outcome_shares["abandoned"], True)),
        ("error", _cell(s.outcome_shares["error"], True)),
        ("time in IVR, all calls", _cell(s.ivr_time, unit=" s")),
        ("time in IVR, calls sent to a queue", _cell(s.ivr_time_transferred, unit=" s")),
    ]
    parts = [
        f"<p>{s.days} days, {s.replications} replications; ± is the 95 % confidence "
        "half-width (Student t over the replications).</p>",
        "<h2>IVR</h2><table>",
        *(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in ivr),
        "</table>",
        charts.bar_chart(hours, {"calls": list(s.arrivals_by_hour)}, title="Calls per day by hour"),
        charts.bar_chart(
            ["self-served", "transferred", "callback", "hung up", "error"],
            {
                "share": [
                    s.outcome_shares[k].mean * 100
                    for k in (
                        "self_served",
                        "transferred",
                        "callback_scheduled",
                        "abandoned",
                        "error",
                    )
                ]
            },
            title="How calls end",
            unit="%",
        ),
        charts.histogram(list(s.ivr_durations), bins=20, title="Time in IVR", unit="s"),
        charts.funnel(s.funnel, title="From call to agent"),
        f"<h2>Queues (target {html.escape(target)})</h2><table>",
        "<tr><th>queue</th><th>agents</th><th>AHT</th><th>calls/day</th><th>load (E)</th>"
        "<th>ASA</th><th>service level</th><th>abandonment</th><th>P(wait)</th>"
        "<th>occupancy</th><th>callbacks/day</th></tr>",
    ]
    for q in s.queues:
        if q.unstable:
            figures = (
                f"<td colspan='6'>unstable: {q.peak_load.mean:.2f} Erlangs in the busiest hour, "
                "more than the agents on duty in some hour, and callers never give up</td>"
            )
        else:
            figures = "".join(
                f"<td>{c}</td>"
                for c in (
                    _cell(q.asa, unit=" s"),
                    _cell(q.service_level, True),
                    _cell(q.abandonment, True),
                    _cell(q.p_wait, True),
                    _cell(q.occupancy, True),
                    _cell(q.callbacks_per_day),
                )
            )
        parts.append(
            f"<tr><th>{html.escape(q.name)}</th><td>{'≤ ' if q.schedule else ''}{q.agents}</td>"
            f"<td>{q.aht:g} s</td>"
            f"<td>{_cell(q.offered_per_day)}</td><td>{_cell(q.offered_load)}</td>{figures}</tr>"
        )
    parts.append("</table>")
    if s.queues:
        parts.append(
            charts.bar_chart(
                hours,
                {q.name: list(q.offered_by_hour) for q in s.queues},
                title="Calls offered to each queue per day, by hour",
            )
        )
        for q in s.queues:
            # Only the hours in which calls reached this queue: an empty hour has no level.
            busy = [h for h in range(24) if q.offered_by_hour[h] > 0]
            if q.unstable or not busy:
                continue
            parts.append(
                charts.line_chart(
                    [hours[h] for h in busy],
                    {"service level": [q.sl_by_hour[h] * 100 for h in busy]},
                    title=f"{q.name}: service level by hour ({target})",
                    unit="%",
                )
            )
    if rows and queue:
        labels = [str(r.agents) for r in rows]
        parts.append(f"<h2>Agents for {html.escape(queue)}</h2>")
        parts.append(
            charts.line_chart(
                labels,
                {
                    "service level": _zero_nan([r.figures.service_level.mean for r in rows], 100.0),
                    "abandonment": _zero_nan([r.figures.abandonment.mean for r in rows], 100.0),
                    "target": [s.sl_target * 100] * len(rows),
                },
                title=f"Service level and abandonment by agents ({target})",
                unit="%",
            )
        )
        best = sweep_answer(rows, s.sl_target)
        verdict = (
            f"{best.agents} agents meet {target}."
            if best
            else f"No staffing from {rows[0].agents} to {rows[-1].agents} meets {target}."
        )
        parts.append(f"<p><strong>{html.escape(verdict)}</strong></p>")
    if s.assumed:
        parts.append("<h2>Assumed</h2><p>The model gives no value for these conditions:</p><ul>")
        for key, share in s.assumed.items():
            guess = (
                "each case equally often" if share < 0 else f"true {share * 100:g} % of the time"
            )
            parts.append(f"<li><code>{html.escape(key)}</code>: {guess}</li>")
        parts.append("</ul>")
    return charts.html_page(title, "\n".join(parts))
