"""The supervisor's page (issue 13) laid out by headless Chromium at 1,280 px: every table
whole, no headline label running out of its tile or over another, and a screenshot."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from browser import layout_in_chromium

ROOT = Path(__file__).resolve().parents[2]
RECORDS = sorted(str(p) for p in (ROOT / "flows" / "records").glob("*.jsonl"))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_report_page_is_readable_at_1280_px(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", "report", *RECORDS, "--html", str(page)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    layout = layout_in_chromium(page, tmp_path / "report.png")
    assert layout.width == 1280
    assert layout.tables >= 8 and layout.tiles == 5
    assert layout.problems == []
    assert png_size(layout.screenshot)[0] == 1280


def test_the_check_finds_a_clipped_column(tmp_path: Path) -> None:
    """The same check on a page laid out as the report was before: a 1,000 px body whose
    widest table is cut off (scrolls inside its box), and a label wider than its tile."""
    cells = "".join(f"<th>a long column heading {i}</th>" for i in range(14))
    page = tmp_path / "old.html"
    page.write_text(
        "<!doctype html><html><head><style>body { max-width: 1000px; margin: auto }"
        " table { display: block; overflow-x: auto } th { white-space: nowrap }</style></head>"
        f"<body><table><tr>{cells}</tr></table>"
        '<div class="tile" style="width:80px"><div style="white-space:nowrap">'
        "a label far too long for its tile</div></div>"
        "</body></html>",
        encoding="utf-8",
    )
    layout = layout_in_chromium(page, tmp_path / "old.png")
    assert any("scrolls sideways" in p for p in layout.problems), layout.problems
    assert any("runs out of its tile" in p for p in layout.problems), layout.problems
