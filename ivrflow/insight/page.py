"""The report as one self-contained HTML page: charts (inline SVG) and the tables.

A supervisor opens the file in a browser, offline: no script, no external request.
The charts are drawn from the report data only (the same numbers as `--format json`).
"""

from __future__ import annotations

import datetime as dt
import html
import zoneinfo
from typing import Any

from ..runtime.record import OUTCOMES
from .charts import bar_chart, funnel, html_page, line_chart
from .headline import Target, default_targets, headline
from .render import SECTIONS, Column, queue_leg_columns, rows_of, show, summary_lines

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


# The report page's own layout: wide enough for every table at 1,280 px, headers that wrap
# instead of widening a column, and the headline tiles in a grid.
PAGE_CSS = """
body { max-width: 1240px; padding: 1rem 1.25rem; }
table { display: table; width: 100%; table-layout: auto; font-size: 13px; }
th { white-space: normal; vertical-align: bottom; padding: .25rem .35rem; }
td { padding: .2rem .35rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr));
         gap: .75rem; margin: 1rem 0; }
.tile { border: 1px solid #ddd; border-left: .5rem solid #999; border-radius: 4px;
        padding: .5rem .75rem; overflow: hidden; }
.tile .label { font-size: .9rem; color: #444; }
.tile .value { font-size: 1.6rem; font-weight: 600; }
.tile .meta { font-size: .8rem; color: #555; }
.green { border-left-color: #1a7f37; } .amber { border-left-color: #bf8700; }
.red { border-left-color: #cf222e; } .none { border-left-color: #999; }
.status { font-weight: 600; text-transform: uppercase; font-size: .75rem; }
"""


def page_title(report: dict[str, Any]) -> str:
    """'IVR report — billing, bank — 2026-11-16 to 2026-11-22 (UTC)'."""
    flows = ", ".join(str(r["flow"]) for r in report.get("flows", ())) or "no calls"
    periods = rows_of(report, "over_time")
    when = ""
    asked = (report.get("source") or {}).get("filters") or {}
    zone = _zone_of(report)
    if periods or asked.get("since") or asked.get("until"):
        first = _day(asked.get("since"), zone) or str(periods[0]["period"])[:10]
        last = _day(asked.get("until"), zone, end=True) or str(periods[-1]["period"])[:10]
        span = first if first == last else f"{first} to {last}"
        when = f" — {span} ({report['over_time']['timezone']})"
    return f"IVR report — {flows}{when}"


def _zone_of(report: dict[str, Any]) -> dt.tzinfo:
    name = str(report.get("over_time", {}).get("timezone", "UTC"))
    try:
        return dt.UTC if name == "UTC" else zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _day(iso: str | None, zone: dt.tzinfo, end: bool = False) -> str | None:
    """A filter's time as the local date it names (an `until` is exclusive: the day before)."""
    if not iso:
        return None
    when = dt.datetime.fromisoformat(iso).astimezone(zone)
    if end:
        when -= dt.timedelta(microseconds=1)
    return when.date().isoformat()


def _shown(value: float | None, kind: str) -> str:
    return show(value, kind) + (" s" if kind == "s" and value is not None else "")


def _change(tile: dict[str, Any]) -> str:
    change = tile["change"]
    if change is None:
        return "no previous period of the same length"
    better = (change > 0) == (tile["better"] == "higher")
    word = "better" if better else "worse" if change else "unchanged"
    amount = f"{change * 100:+.1f} pts" if tile["kind"] == "pct" else f"{change:+.1f} s"
    return f"{amount} vs previous period ({word})"


def _tiles(tiles: list[dict[str, Any]]) -> str:
    out = []
    for t in tiles:
        aim = "≥" if t["better"] == "higher" else "≤"
        out.append(
            f'<div class="tile {t["status"]}"><div class="label">{_esc(t["label"])}</div>'
            f'<div class="value">{_esc(_shown(t["value"], t["kind"]))}</div>'
            f'<div class="meta"><span class="status">{_esc(t["status"])}</span> · target '
            f"{aim} {_esc(_shown(t['target'], t['kind']))}</div>"
            f'<div class="meta">{_esc(_change(t))}</div></div>'
        )
    return '<div class="tiles">' + "".join(out) + "</div>"


def _summary_table(report: dict[str, Any]) -> str:
    s = report["summary"]
    rows = [
        {"what": OUTCOME_NAMES[k], "calls": s[k], "share": s.get(rate)}
        for k, rate in (
            ("self_served", "containment_rate"),
            ("transferred", "transfer_rate"),
            ("callback_scheduled", "callback_rate"),
            ("abandoned", "abandonment_rate"),
            ("error", "error_rate"),
        )
    ]
    columns: list[Column] = [("what", "outcome", "text"), ("calls", "calls", "int"),
                             ("share", "of calls", "pct")]  # fmt: skip
    return _table(columns, rows)


def _queue_leg(report: dict[str, Any]) -> str:
    leg = report.get("queue_leg") or {}
    if not leg.get("queues"):
        return "<p>(no record with a queue section)</p>"
    by = report.get("over_time", {}).get("by", "day")
    return (
        '<p class="note">After the IVR\'s transfer: the wait, who reached an agent and who '
        "gave up (docs/metrics.md, the queue leg).</p>"
        + _table(queue_leg_columns(report, ("queue", "queue", "text")), leg["queues"])
        + f"<h3>Queue leg by {_esc(by)}</h3>"
        + _table(queue_leg_columns(report, ("period", "period", "text")), leg[f"by_{by}"])
    )


def render_page(
    report: dict[str, Any],
    title: str | None = None,
    previous: dict[str, Any] | None = None,
    targets: list[Target] | None = None,
) -> str:
    """The whole HTML document; `previous` is the report of the period of the same length
    before this one (for the changes), `targets` the headline's (default_targets)."""
    sl = (report.get("queue_leg", {}).get("service_level_targets_s") or [20.0])[0]
    tiles = headline(report, previous, targets or default_targets(float(sl)))
    parts = ["<h2>Headline</h2>", _tiles(tiles), "<h2>Summary</h2>", _summary_table(report)]
    parts.append(
        '<p class="note">' + "<br>".join(_esc(line) for line in summary_lines(report)[:2]) + "</p>"
    )
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
    parts += ["<h2>The queue leg</h2>", _queue_leg(report)]
    for key, heading, columns, _ in SECTIONS:
        rows = rows_of(report, key)
        parts.append(f"<h2>{_esc(heading)}</h2>")
        parts.append(_table(columns, rows) if rows else "<p>(none)</p>")
    return html_page(title or page_title(report), "\n".join(parts), PAGE_CSS)


__all__ = ["FUNNEL_STEPS", "PAGE_CSS", "page_title", "render_page"]
