"""Small inline-SVG charts and a self-contained HTML page, with no dependency.

A supervisor opens the page from a file, often on a machine with no network, so
nothing here refers to anything outside the document: no script, no font, no CDN.
Every function returns text; every text it draws is escaped; every chart carries a
`<title>` and a `<desc>` (screen readers announce them) and labels its axes.

    svg = bar_chart(["Mon", "Tue"], {"calls": [120, 98]}, title="Calls per day", unit="calls")
    page = html_page("Billing — week 48", svg)
"""

from __future__ import annotations

import hashlib
import html
import math

# Okabe–Ito colours: told apart by readers with the common colour-vision deficiencies.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#cc79a7",
    "#56b4e9",
    "#f0e442",
    "#000000",
)

_WIDTH = 720
_LEFT, _RIGHT, _TOP = 64, 16, 40  # room for the y ticks and the title
_PLOT_H = 208  # the plot's height; what goes under it (labels, legend) adds to the svg's
_BASE = _TOP + _PLOT_H  # the x axis
_MAX_LABEL = 24  # characters of an x label; longer ones are cut with "…"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _number(value: float) -> str:
    """1234.5 → '1,234.5'; 3.0 → '3': short, and never '3.0000000001'."""
    if value != value or math.isinf(value):  # NaN and infinities have no place on an axis
        return "–"
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5, 5 × 10^n) up to at least `top`."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _open_svg(title: str, description: str, height: float) -> tuple[str, str]:
    """The opening of an accessible svg (title and desc tied to it) and its title id."""
    # Derived from the content, so the same report gives the same page byte for byte.
    ident = "chart-" + hashlib.sha1(f"{title}\n{description}".encode()).hexdigest()[:10]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height:.0f}" '
        f'width="{_WIDTH}" height="{height:.0f}" role="img" class="chart" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{_esc(title)}</title>'
        f'<desc id="{ident}-desc">{_esc(description)}</desc>'
        f'<text x="{_WIDTH / 2}" y="22" text-anchor="middle" class="chart-title">'
        f"{_esc(title)}</text>"
    )
    return head, ident


def _empty(title: str) -> str:
    head, _ = _open_svg(title, "No data.", 120)
    return head + '<text x="360" y="70" text-anchor="middle">No data</text></svg>'


def _y_axis(top: float, unit: str) -> tuple[str, float]:
    """Grid lines, tick labels and the axis label; returns the svg text and the axis maximum."""
    ticks = _nice_ticks(top)
    ymax = ticks[-1] or 1.0
    parts = []
    for tick in ticks:
        y = _BASE - tick / ymax * _PLOT_H
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{_esc(_number(tick))}</text>"
        )
    if unit:
        mid = _TOP + _PLOT_H / 2
        parts.append(
            f'<text x="14" y="{mid:.1f}" text-anchor="middle" class="axis-label" '
            f'transform="rotate(-90 14 {mid:.1f})">{_esc(unit)}</text>'
        )
    parts.append(
        f'<line x1="{_LEFT}" y1="{_BASE}" x2="{_WIDTH - _RIGHT}" y2="{_BASE}" class="axis"/>'
    )
    return "".join(parts), ymax


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def _below(
    labels: list[str], centres: list[float], names: list[str], x_label: str
) -> tuple[str, float]:
    """What goes under the plot — the category labels (thinned out, and turned upright when
    many), the x axis label, the legend — and the svg's height with them."""
    every = max(1, math.ceil(len(labels) / 24))
    shown = [(_short(label), x) for i, (label, x) in enumerate(zip(labels, centres, strict=True))]
    shown = shown[::every]
    upright = len(labels) > 8 or any(len(text) > 90 / max(1, len(labels)) for text, _ in shown)
    out = []
    if upright:  # read bottom to top, each label ending under its bar
        band = 12 + 6.2 * max((len(text) for text, _ in shown), default=0)
        for text, x in shown:
            out.append(
                f'<text x="{x + 4:.1f}" y="{_BASE + 8}" text-anchor="end" class="tick" '
                f'transform="rotate(-90 {x + 4:.1f} {_BASE + 8})">{_esc(text)}</text>'
            )
    else:
        band = 20.0
        out += [
            f'<text x="{x:.1f}" y="{_BASE + 16}" text-anchor="middle" class="tick">'
            f"{_esc(text)}</text>"
            for text, x in shown
        ]
    y = float(_BASE + band)
    if x_label:
        y += 16
        out.append(
            f'<text x="{_LEFT + (_WIDTH - _LEFT - _RIGHT) / 2:.1f}" y="{y:.1f}" '
            f'text-anchor="middle" class="axis-label">{_esc(x_label)}</text>'
        )
    if len(names) > 1:
        y += 8
        x = float(_LEFT)
        for i, name in enumerate(names):
            colour = PALETTE[i % len(PALETTE)]
            out.append(
                f'<rect x="{x:.0f}" y="{y:.1f}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14:.0f}" y="{y + 9:.1f}" class="tick">{_esc(name)}</text>'
            )
            x += 24 + 7 * len(name)
        y += 10
    return "".join(out), y + 8


def _check_series(labels: list[str], series: dict[str, list[float]]) -> None:
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series '{name}' has {len(values)} values for {len(labels)} labels")


def bar_chart(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    unit: str = "",
    stacked: bool = False,
) -> str:
    """Vertical bars, one group per label; several series side by side or `stacked`."""
    _check_series(labels, series)
    if not labels or not series:
        return _empty(title)
    kind = "Stacked bar chart" if stacked else "Bar chart"
    description = f"{kind} of {', '.join(series)} by {len(labels)} categories."
    return _bars(labels, series, title, unit, stacked, description, "")


def _bars(
    labels: list[str],
    series: dict[str, list[float]],
    title: str,
    unit: str,
    stacked: bool,
    description: str,
    x_label: str,
) -> str:
    names = list(series)
    if stacked:
        top = max(sum(max(0.0, series[n][i]) for n in names) for i in range(len(labels)))
    else:
        top = max(max(values) for values in series.values())
    axis, ymax = _y_axis(top, unit)
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _PLOT_H
    slot = plot_w / len(labels)
    bar_w = slot * 0.8 / (1 if stacked else len(names))
    bars, centres = [], []
    for i, label in enumerate(labels):
        x0 = _LEFT + i * slot + slot * 0.1
        centres.append(_LEFT + (i + 0.5) * slot)
        base = float(_BASE)
        for k, name in enumerate(names):
            value = max(0.0, series[name][i])
            h = value / ymax * plot_h
            x = x0 if stacked else x0 + k * bar_w
            y = base - h
            tip = f"{label} — {name}: {_number(value)}{' ' + unit if unit else ''}"
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{_esc(tip)}</title></rect>"
            )
            if stacked:
                base = y
    under, height = _below(labels, centres, names, x_label)
    head, _ = _open_svg(title, description, height)
    return head + axis + "".join(bars) + under + "</svg>"


def line_chart(
    x_labels: list[str],
    series: dict[str, list[float]],
    *,
    title: str,
    unit: str = "",
) -> str:
    """One line per series over the labels, with a dot (and its value as a tooltip) per point."""
    _check_series(x_labels, series)
    if not x_labels or not series:
        return _empty(title)
    names = list(series)
    top = max(max(values) for values in series.values())
    axis, ymax = _y_axis(top, unit)
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _PLOT_H
    slot = plot_w / len(x_labels)  # points at the centres of equal slots, as bars are
    xs = [_LEFT + (i + 0.5) * slot for i in range(len(x_labels))]
    lines = []
    for k, name in enumerate(names):
        colour = PALETTE[k % len(PALETTE)]
        points = [
            (x, _BASE - max(0.0, v) / ymax * plot_h) for x, v in zip(xs, series[name], strict=True)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        lines.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), label, v in zip(points, x_labels, series[name], strict=True):
            tip = f"{label} — {name}: {_number(v)}{' ' + unit if unit else ''}"
            lines.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                f"<title>{_esc(tip)}</title></circle>"
            )
    under, height = _below(x_labels, xs, names, "")
    head, _ = _open_svg(
        title, f"Line chart of {', '.join(names)} over {len(x_labels)} points.", height
    )
    return head + axis + "".join(lines) + under + "</svg>"


def histogram(values: list[float], *, bins: int, title: str, unit: str = "") -> str:
    """How many values fall in each of `bins` equal ranges between the smallest and largest."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return _empty(title)
    low, high = min(finite), max(finite)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, int((v - low) / width))] += 1
    suffix = f" {unit}" if unit else ""
    labels = [f"{_number(low + i * width)}–{_number(low + (i + 1) * width)}" for i in range(bins)]
    return _bars(
        labels,
        {"count": [float(c) for c in counts]},
        title,
        "count",
        False,
        f"Histogram of {len(finite):,} values{suffix} in {bins} ranges "
        f"from {_number(low)} to {_number(high)}.",
        f"{unit or 'value'} (ranges)",
    )


def funnel(steps: list[tuple[str, int]], *, title: str) -> str:
    """Horizontal bars, widest first: how many calls reached each step, and the share of the
    first step's calls that did."""
    if not steps:
        return _empty(title)
    row_h, label_w = 26, 220
    height = _TOP + row_h * len(steps) + 16
    first = max(steps[0][1], 1)
    widest = max(max(n for _, n in steps), 1)
    plot_w = _WIDTH - label_w - 150
    rows = []
    for i, (name, n) in enumerate(steps):
        y = _TOP + i * row_h
        w = max(1.0, n / widest * plot_w)
        share = n / first * 100
        rows.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="tick">'
            f"{_esc(name)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[0]}"><title>{_esc(f"{name}: {n:,} calls ({share:.1f}%)")}</title>'
            f"</rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="tick">'
            f"{_esc(f'{n:,} ({share:.1f}%)')}</text>"
        )
    head, _ = _open_svg(
        title,
        f"Funnel of {len(steps)} steps, from {steps[0][0]} ({steps[0][1]:,} calls).",
        height,
    )
    return head + "".join(rows) + "</svg>"


_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1000px; padding: 1.5rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; margin-top: 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; display: block; overflow-x: auto; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child, .t { text-align: left; }
thead th { background: #f3f5f7; }
.chart { max-width: 100%; height: auto; display: block; margin: 1rem 0; }
.chart-title { font-weight: 600; font-size: 15px; }
.tick { font-size: 11px; fill: #333; } .axis-label { font-size: 12px; fill: #333; }
.grid { stroke: #e4e4e4; } .axis { stroke: #555; }
.note { color: #555; font-size: .9rem; }
"""


def html_page(title: str, body_html: str, css: str = "") -> str:
    """A complete HTML document around `body_html` (trusted markup), with inline CSS only
    (`css` after the common rules)."""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}{css}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n{body_html}\n</body>\n</html>\n"
    )


__all__ = ["PALETTE", "bar_chart", "funnel", "histogram", "html_page", "line_chart"]
