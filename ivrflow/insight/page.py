"""The report as one self-contained HTML page: charts (inline SVG) and the tables.

A supervisor opens the file in a browser, offline: no script, no external request.
The charts are drawn from the report data only (the same numbers as `--format json`).
"""

from __future__ import annotations

import html
from typing import Any

from ..runtime.record import OUTCOMES
from .charts import bar_chart, funnel, html_page, line_chart
from .render import SECTIONS, Column, rows_of, show, summary_lines

FUNNEL_STEPS = 14  # the most-visited states per flow; a longer bar list is unreadable
OUTCOME_NAMES = {
    "self_served": "self-served",
    "transferred": "transferred",
    "callback_scheduled": "callback",
    "abandoned": "abandoned",
    "error": "error",
}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    def cls(kind: str) -> str:
        return ' class="t"' if kind == "text" else ""  # text to the left, numbers to the right

    head = "".join(f"<th{cls(kind)}>{_esc(title)}</th>" for _, title, kind in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(kind)}>{_esc(show(row.get(k), kind))}</td>" for k, _, kind in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _outcomes_over_time(report: dict[str, Any]) -> str:
    rows = rows_of(report, "over_time")
    grouping = report["over_time"]
    labels = [str(r["period"]) for r in rows]
    series = {OUTCOME_NAMES[k]: [float(r.get(k) or 0) for r in rows] for k in OUTCOMES}
    return bar_chart(
        labels,
        series,
        title=f"Outcomes by {grouping['by']} ({grouping['timezone']})",
        unit="calls",
        stacked=True,
    )


def _rates_over_time(report: dict[str, Any]) -> str:
    rows = [r for r in rows_of(report, "over_time") if r["calls"]]
    return line_chart(
        [str(r["period"]) for r in rows],
        {
            "containment": [float(r["containment_rate"] or 0) * 100 for r in rows],
            "abandonment": [float(r["abandonment_rate"] or 0) * 100 for r in rows],
        },
        title="Containment and abandonment in the IVR",
        unit="% of calls",
    )


def _time_histogram(report: dict[str, Any]) -> str:
    bins = report["time_in_ivr_histogram"]["bins"]
    labels = [
        f"{b['from_s']:g}–{b['to_s']:g}" if b["to_s"] is not None else f"{b['from_s']:g}+"
        for b in bins
    ]
    return bar_chart(
        labels,
        {"calls": [float(b["calls"]) for b in bins]},
        title="Time in IVR (seconds, from the start to transfer or hang-up)",
        unit="calls",
    )


def _funnels(report: dict[str, Any]) -> str:
    by_flow: dict[str, list[dict[str, Any]]] = {}
    for row in rows_of(report, "funnel"):
        by_flow.setdefault(str(row["flow"]), []).append(row)
    charts = []
    for flow, rows in by_flow.items():
        top = rows[:FUNNEL_STEPS]  # already ordered by calls in, most first
        charts.append(
            funnel(
                [(str(r["state"]), int(r["entered"])) for r in top],
                title=f"Funnel — {flow}: calls entering each state",
            )
        )
        dropped = sorted((r for r in rows if r["abandoned"]), key=lambda r: -int(r["abandoned"]))
        if dropped:
            worst = dropped[:10]
            charts.append(
                bar_chart(
                    [str(r["state"]) for r in worst],
                    {"hung up here": [float(r["abandoned"]) for r in worst]},
                    title=f"Where callers hang up — {flow}",
                    unit="calls",
                )
            )
    return "".join(charts)


def _lookup_latency(report: dict[str, Any]) -> str:
    rows = rows_of(report, "lookups")
    if not rows:
        return ""
    return bar_chart(
        [f"{r['flow']}: {r['function']}" for r in rows],
        {
            "p50": [float(r["latency_p50_ms"] or 0) for r in rows],
            "p90": [float(r["latency_p90_ms"] or 0) for r in rows],
        },
        title="Look-up latency",
        unit="ms",
    )


def render_page(report: dict[str, Any], title: str = "IVR report") -> str:
    """The whole HTML document."""
    parts = ["<h2>Summary</h2>", "<pre>" + _esc("\n".join(summary_lines(report))) + "</pre>"]
    if report["notes"]:
        notes = "".join(f"<li>{_esc(n)}</li>" for n in report["notes"])
        parts.append(f'<ul class="note">{notes}</ul>')
    parts += [
        "<h2>Outcomes over time</h2>",
        _outcomes_over_time(report),
        _rates_over_time(report),
        "<h2>Time in IVR</h2>",
        _time_histogram(report),
        "<h2>Funnel</h2>",
        '<p class="note">Calls that entered each state at least once, and where the callers '
        "who hung up in the IVR were when they did (docs/metrics.md).</p>",
        _funnels(report),
        "<h2>Look-up latency</h2>",
        _lookup_latency(report),
    ]
    for key, heading, columns, _ in SECTIONS:
        rows = rows_of(report, key)
        parts.append(f"<h2>{_esc(heading)}</h2>")
        parts.append(_table(columns, rows) if rows else "<p>(none)</p>")
    return html_page(title, "\n".join(parts))


__all__ = ["FUNNEL_STEPS", "render_page"]
