"""ivrflow.charts: inline SVG charts that are valid XML, accessible, escaped and self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ivrflow.insight.charts import bar_chart, funnel, histogram, html_page, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_every_chart_is_well_formed_svg_with_a_title_and_description() -> None:
    charts = [
        bar_chart(["a", "b"], {"calls": [1.0, 2.0]}, title="Bars"),
        line_chart(["a", "b"], {"calls": [1.0, 2.0]}, title="Lines"),
        histogram([1.0, 2.0, 3.0], bins=3, title="Histogram"),
        funnel([("start", 10), ("menu", 5)], title="Funnel"),
    ]
    for svg, title in zip(charts, ["Bars", "Lines", "Histogram", "Funnel"], strict=True):
        root = parse(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.find(f"{SVG}title").text == title  # type: ignore[union-attr]
        assert root.find(f"{SVG}desc") is not None
        labelled = root.get("aria-labelledby", "").split()
        assert [root.find(f"{SVG}title").get("id"), root.find(f"{SVG}desc").get("id")] == labelled  # type: ignore[union-attr]


def test_text_is_escaped_everywhere() -> None:
    nasty = '<script>alert("x")</script> & co'
    svg = bar_chart([nasty], {nasty: [3.0]}, title=nasty, unit=nasty)
    assert "<script>" not in svg
    root = parse(svg)
    assert nasty in texts(root)
    page = html_page(nasty, svg)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_bar_heights_follow_the_values_and_the_axis_is_labelled_with_the_unit() -> None:
    root = parse(bar_chart(["Mon", "Tue"], {"calls": [50.0, 100.0]}, title="T", unit="calls"))
    heights = [float(r.get("height", 0)) for r in root.iter(f"{SVG}rect")]
    assert len(heights) == 2
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.01)
    assert "calls" in texts(root)
    assert {"Mon", "Tue"} <= set(texts(root))


def test_stacked_bars_sit_on_each_other() -> None:
    root = parse(
        bar_chart(["Mon"], {"a": [30.0], "b": [10.0]}, title="T", stacked=True, unit="calls")
    )
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    low, high = bars
    assert float(high.get("y", 0)) + float(high.get("height", 0)) == pytest.approx(
        float(low.get("y", 0)), abs=0.2
    )
    assert float(low.get("x", 0)) == float(high.get("x", 0))
    legend = texts(root)
    assert "a" in legend and "b" in legend


def test_series_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(ValueError, match="series 'x' has 1 values for 2 labels"):
        bar_chart(["a", "b"], {"x": [1.0]}, title="T")
    with pytest.raises(ValueError):
        line_chart(["a"], {"x": [1.0, 2.0]}, title="T")


def test_histogram_counts_every_value_once() -> None:
    values = [0.0, 1.0, 1.5, 9.0, 10.0]
    root = parse(histogram(values, bins=2, title="Time in IVR", unit="s"))
    tips = [t.text or "" for t in root.iter(f"{SVG}title")][1:]
    counts = [int(re.search(r": (\d+)", tip).group(1)) for tip in tips]  # type: ignore[union-attr]
    assert counts == [3, 2]
    assert "s (ranges)" in texts(root)


def test_empty_data_says_so_instead_of_failing() -> None:
    for svg in (
        bar_chart([], {}, title="T"),
        line_chart([], {}, title="T"),
        histogram([], bins=10, title="T"),
        funnel([], title="T"),
    ):
        assert "No data" in texts(parse(svg))


def test_funnel_shows_counts_and_share_of_the_first_step() -> None:
    root = parse(funnel([("start", 200), ("main_menu", 150), ("agent", 30)], title="F"))
    shown = texts(root)
    assert "150 (75.0%)" in shown
    assert "30 (15.0%)" in shown


def test_same_input_gives_the_same_chart() -> None:
    make = lambda: line_chart(["a", "b"], {"x": [1.0, 2.0]}, title="Same")  # noqa: E731
    assert make() == make()


def test_html_page_is_self_contained() -> None:
    page = html_page("Report", "<p>hello</p>")
    assert page.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in page
    assert "<p>hello</p>" in page
    assert not re.search(r"(src|href)=|@import|url\(", page)


def test_many_labels_stand_upright_and_the_chart_grows_to_hold_them_and_the_legend() -> None:
    few = parse(bar_chart(["a", "b"], {"x": [1.0, 2.0], "y": [2.0, 1.0]}, title="Few"))
    labels = [f"2026-11-{d:02d} {h:02d}:00" for d in range(16, 23) for h in range(24)]
    many = parse(
        bar_chart(labels, {"x": [1.0] * len(labels), "y": [2.0] * len(labels)}, title="Many")
    )
    height = float(many.get("height", 0))
    assert height > float(few.get("height", 0))
    upright = [t for t in many.iter(f"{SVG}text") if "rotate(-90" in t.get("transform", "")]
    assert 0 < len(upright) <= 24  # thinned out to stay readable
    legend = [r for r in many.iter(f"{SVG}rect") if r.find(f"{SVG}title") is None]
    assert legend and all(float(r.get("y", 0)) + 10 <= height for r in legend)
    # An upright label hangs down from its anchor by its length (11 px type: > 5.5 px a letter).
    label_bottom = max(float(t.get("y", 0)) + 5.5 * len(t.text or "") for t in upright)
    assert all(float(r.get("y", 0)) > label_bottom for r in legend)
