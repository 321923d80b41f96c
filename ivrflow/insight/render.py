"""Write a report (the JSON data `kpis.Report.result()` gives) as text, JSON or CSV.

Text is for a terminal: a summary, then one table per section. JSON is the report
data itself (schema `ivrflow.report/1`, docs/metrics.md). CSV is one flat long
table — `section,flow,item,metric,value`, one figure per row — which a spreadsheet
pivots and a script filters without knowing the sections' shapes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any, TextIO

# A column: the row's key, its heading, and how to show the value.
Column = tuple[str, str, str]  # kind: int, pct, s, ms, num, text

FLOW_COLUMNS: list[Column] = [
    ("flow", "flow", "text"),
    ("calls", "calls", "int"),
    ("containment_rate", "contained", "pct"),
    ("transfer_rate", "transferred", "pct"),
    ("callback_rate", "callback", "pct"),
    ("abandonment_rate", "abandoned", "pct"),
    ("error_rate", "error", "pct"),
    ("time_in_ivr_mean_s", "IVR mean s", "s"),
    ("time_in_ivr_p50_s", "p50 s", "s"),
    ("time_in_ivr_p90_s", "p90 s", "s"),
    ("calls_with_noinput_rate", "calls noinput", "pct"),
    ("calls_with_nomatch_rate", "calls nomatch", "pct"),
    ("lookup_error_rate", "lookup err", "pct"),
]
QUEUE_COLUMNS: list[Column] = [
    ("flow", "flow", "text"),
    ("target", "queue / number", "text"),
    ("kind", "kind", "text"),
    ("transfers", "transfers", "int"),
    ("transfer_rate", "of calls", "pct"),
    ("share_of_transfers", "of transfers", "pct"),
    ("time_in_ivr_mean_s", "IVR mean s", "s"),
]
PERIOD_COLUMNS: list[Column] = [
    ("period", "period", "text"),
    ("calls", "calls", "int"),
    ("self_served", "self-served", "int"),
    ("transferred", "transferred", "int"),
    ("callback_scheduled", "callback", "int"),
    ("abandoned", "abandoned", "int"),
    ("error", "error", "int"),
    ("containment_rate", "contained", "pct"),
    ("abandonment_rate", "abandon", "pct"),
    ("time_in_ivr_mean_s", "IVR mean s", "s"),
]
FUNNEL_COLUMNS: list[Column] = [
    ("flow", "flow", "text"),
    ("state", "state", "text"),
    ("kind", "kind", "text"),
    ("entered", "calls in", "int"),
    ("reach_rate", "of calls", "pct"),
    ("abandoned", "hung up here", "int"),
    ("drop_off_rate", "drop-off", "pct"),
    ("errors", "errors here", "int"),
]
INPUT_COLUMNS: list[Column] = [
    ("flow", "flow", "text"),
    ("state", "state", "text"),
    ("kind", "kind", "text"),
    ("calls", "calls", "int"),
    ("visits", "visits", "int"),
    ("inputs", "inputs", "int"),
    ("noinput_per_visit", "noinput/visit", "num"),
    ("nomatch_per_visit", "nomatch/visit", "num"),
    ("calls_with_noinput_rate", "calls noinput", "pct"),
    ("calls_with_nomatch_rate", "calls nomatch", "pct"),
]
LOOKUP_COLUMNS: list[Column] = [
    ("flow", "flow", "text"),
    ("function", "function", "text"),
    ("lookups", "look-ups", "int"),
    ("ok", "ok", "int"),
    ("error", "error", "int"),
    ("timeout", "timeout", "int"),
    ("error_rate", "failed", "pct"),
    ("latency_p50_ms", "p50 ms", "ms"),
    ("latency_p90_ms", "p90 ms", "ms"),
]
QUEUE_LEG_COLUMNS: list[Column] = [
    ("offered", "offered", "int"),
    ("answered", "answered", "int"),
    ("asa_s", "ASA s", "s"),
    ("queue_abandonment_rate", "abandoned", "pct"),
    ("short_abandons", "short ab.", "int"),
    ("left_for_callback", "callback", "int"),
    ("wait_mean_s", "wait mean s", "s"),
    ("wait_p90_s", "p90 s", "s"),
    ("wait_max_s", "longest s", "s"),
    ("ewt_error_mean_s", "EWT err s", "s"),
    ("ewt_bias_s", "EWT bias s", "s"),
]


def queue_leg_columns(report: dict[str, Any], first: Column) -> list[Column]:
    """The queue-leg table's columns: a service level per target after ASA."""
    targets = report.get("queue_leg", {}).get("service_level_targets_s", [])
    levels: list[Column] = [(f"service_level_{t:g}s", f"SL {t:g}s", "pct") for t in targets]
    return [first, *QUEUE_LEG_COLUMNS[:3], *levels, *QUEUE_LEG_COLUMNS[3:]]


def queue_leg_lines(report: dict[str, Any]) -> list[str]:
    """The queue leg as text: its summary, then per queue and per period."""
    leg = report.get("queue_leg") or {}
    s = leg.get("summary") or {}
    if not s.get("offered") and not s.get("full") and not s.get("failed"):
        return ["The queue leg", "(no record with a queue section)"]
    levels = ", ".join(
        f"{show(s.get(f'service_level_{t:g}s'), 'pct')} within {t:g} s"
        for t in leg["service_level_targets_s"]
    )
    by = report.get("over_time", {}).get("by", "day")
    lines = [
        "The queue leg (after the IVR's transfer; docs/metrics.md)",
        f"  offered {s['offered']:,}, answered {s['answered']:,}, ASA {show(s['asa_s'], 's')} s, "
        f"service level {levels}",
        f"  abandoned in queue {s['abandoned'] - s['short_abandons']:,} "
        f"({show(s['queue_abandonment_rate'], 'pct')}), short abandons under "
        f"{leg['short_abandon_s']:g} s {s['short_abandons']:,} apart; callbacks requested "
        f"{s['left_for_callback']:,}; timed out {s['timeout']:,}, overflowed {s['overflow']:,}, "
        f"full {s['full']:,}, failed {s['failed']:,}",
        f"  wait mean {show(s['wait_mean_s'], 's')} s, p90 {show(s['wait_p90_s'], 's')} s, "
        f"longest {show(s['wait_max_s'], 's')} s; EWT told vs answered wait: mean error "
        f"{show(s['ewt_error_mean_s'], 's')} s, bias {show(s['ewt_bias_s'], 's')} s "
        f"over {s['ewt_compared']:,} calls",
        "",
        table(queue_leg_columns(report, ("queue", "queue", "text")), leg["queues"]),
        "",
        f"Queue leg by {by}",
        table(queue_leg_columns(report, ("period", "period", "text")), leg[f"by_{by}"]),
    ]
    return lines


# The sections drawn as tables: key in the report, title, columns, the row's item key.
SECTIONS: list[tuple[str, str, list[Column], str | None]] = [
    ("flows", "Per flow", FLOW_COLUMNS, None),
    ("queues", "Transfers per queue", QUEUE_COLUMNS, "target"),
    ("over_time", "Over time", PERIOD_COLUMNS, "period"),
    ("funnel", "Where callers go and drop (per state)", FUNNEL_COLUMNS, "state"),
    ("input_states", "No-input and no-match per menu", INPUT_COLUMNS, "state"),
    ("lookups", "Look-ups", LOOKUP_COLUMNS, "function"),
]


def show(value: Any, kind: str) -> str:
    """A value as a table shows it; '–' for a figure that cannot be computed."""
    if value is None:
        return "–"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind in ("s", "ms"):
        return f"{float(value):,.1f}"
    if kind == "num":
        return f"{float(value):.2f}"
    return str(value)


def rows_of(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    section = report.get(key)
    if isinstance(section, dict):  # over_time keeps its grouping beside the rows
        section = section.get("rows", [])
    return list(section or [])


def table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    """Aligned plain-text columns: text to the left, numbers to the right."""
    cells = [[show(row.get(key), kind) for key, _, kind in columns] for row in rows]
    heads = [head for _, head, _ in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(heads)]

    def line(values: list[str]) -> str:
        parts = [
            v.ljust(w) if kind == "text" else v.rjust(w)
            for v, w, (_, _, kind) in zip(values, widths, columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(heads), line(["-" * w for w in widths]), *map(line, cells)])


def summary_lines(report: dict[str, Any]) -> list[str]:
    s, src = report["summary"], report["source"]
    calls = s["calls"]

    def pct(key: str) -> str:
        return show(s.get(key), "pct")

    malformed = sum(src.get("malformed", {}).values())
    lines = [
        f"Calls: {calls:,}  (from {len(src.get('files', []))} file(s); "
        f"{malformed:,} malformed line(s); {src.get('filtered_out', 0):,} filtered out)",
    ]
    periods = rows_of(report, "over_time")
    if periods:
        where = report["over_time"]["timezone"]
        lines.append(f"Period: {periods[0]['period']} to {periods[-1]['period']} ({where})")
    lines += [
        "",
        f"  self-served (containment)  {s['self_served']:>9,}  {pct('containment_rate'):>6}",
        f"  transferred                {s['transferred']:>9,}  {pct('transfer_rate'):>6}",
        f"  callback scheduled         {s['callback_scheduled']:>9,}  {pct('callback_rate'):>6}",
        f"  abandoned in the IVR       {s['abandoned']:>9,}  {pct('abandonment_rate'):>6}",
        f"  error                      {s['error']:>9,}  {pct('error_rate'):>6}",
        "",
        f"Time in IVR: mean {show(s['time_in_ivr_mean_s'], 's')} s, "
        f"p50 {show(s['time_in_ivr_p50_s'], 's')} s, p90 {show(s['time_in_ivr_p90_s'], 's')} s",
        f"No-input: {show(s['noinput_per_call'], 'num')} per call, "
        f"{pct('calls_with_noinput_rate')} of calls with one or more; "
        f"no-match: {show(s['nomatch_per_call'], 'num')} per call, "
        f"{pct('calls_with_nomatch_rate')} of calls",
        f"Look-ups: {s['lookups']:,}, {pct('lookup_error_rate')} failed (error or timeout)",
    ]
    if s.get("callbacks_offered") is not None:
        lines.append(
            f"Callbacks: {s['callbacks_offered']:,} calls offered one, "
            f"{s['callbacks_accepted']:,} accepted ({pct('callback_acceptance_rate')}), "
            f"{s['callbacks_declined']:,} declined, {s['callback_scheduled']:,} scheduled"
        )
    else:
        lines.append(f"Callbacks: {s['callback_scheduled']:,} scheduled (offers: flow unknown)")
    return lines


def write_text(report: dict[str, Any], out: TextIO) -> None:
    parts = ["\n".join(summary_lines(report))]
    for key, title, columns, _ in SECTIONS:
        rows = rows_of(report, key)
        if key == "over_time":
            title = f"{title} (by {report['over_time']['by']}, {report['over_time']['timezone']})"
        if key == "input_states" and rows and rows[0].get("noinput_per_visit") is None:
            title += " (visits and inputs only: see the notes)"
        parts.append(f"{title}\n{table(columns, rows)}" if rows else f"{title}\n(none)")
    parts.append("\n".join(queue_leg_lines(report)))
    if report.get("notes"):
        parts.append("Notes\n" + "\n".join(f"- {note}" for note in report["notes"]))
    out.write("\n\n".join(parts) + "\n")


def write_json(report: dict[str, Any], out: TextIO) -> None:
    json.dump(report, out, indent=2, ensure_ascii=False)
    out.write("\n")


def long_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    """(section, flow, item, metric, value) for every figure in the report."""
    out: list[tuple[str, str, str, str, Any]] = []
    for metric, value in report["source"].items():
        if metric == "malformed":
            out += [("source", "", reason, "malformed", n) for reason, n in value.items()]
        elif isinstance(value, int):
            out.append(("source", "", "", metric, value))
    out += [("summary", "", "", metric, value) for metric, value in report["summary"].items()]
    for key, _, _, item_key in SECTIONS:
        for row in rows_of(report, key):
            flow = str(row.get("flow") or "")
            item = str(row.get(item_key) or "") if item_key else ""
            skip = {"flow", item_key}
            out += [(key, flow, item, m, v) for m, v in row.items() if m not in skip]
    leg = report.get("queue_leg") or {}
    if leg:
        out += [("queue_leg", "", "", m, v) for m, v in leg.get("summary", {}).items()]
        for key, item_key in (("queues", "queue"), ("by_hour", "period"), ("by_day", "period")):
            for row in leg.get(key, ()):
                item = str(row.get(item_key))
                section = f"queue_leg_{key}"
                out += [(section, "", item, m, v) for m, v in row.items() if m != item_key]
    for row in report["time_in_ivr_histogram"]["bins"]:
        upper = "" if row["to_s"] is None else f"{row['to_s']:g}"
        out.append(
            ("time_in_ivr_histogram", "", f"{row['from_s']:g}-{upper}", "calls", row["calls"])
        )
    return out


def write_csv(report: dict[str, Any], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "flow", "item", "metric", "value"])
    for section, flow, item, metric, value in long_rows(report):
        writer.writerow([section, flow, item, metric, "" if value is None else value])


WRITERS: dict[str, Callable[[dict[str, Any], TextIO], None]] = {
    "text": write_text,
    "json": write_json,
    "csv": write_csv,
}

__all__ = [
    "FLOW_COLUMNS",
    "FUNNEL_COLUMNS",
    "INPUT_COLUMNS",
    "LOOKUP_COLUMNS",
    "PERIOD_COLUMNS",
    "QUEUE_COLUMNS",
    "QUEUE_LEG_COLUMNS",
    "SECTIONS",
    "WRITERS",
    "Column",
    "long_rows",
    "queue_leg_columns",
    "queue_leg_lines",
    "rows_of",
    "show",
    "summary_lines",
    "table",
    "write_csv",
    "write_json",
    "write_text",
]
