"""README.md's layout table tells the truth: every path it names exists, and every stage
package and top-level module of ivrflow/ has its row."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`]+)` \|", re.MULTILINE)


def layout_rows() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Layout\n") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None]
    return ROW.findall(section)


def test_every_path_in_the_layout_table_exists() -> None:
    rows = layout_rows()
    assert len(rows) > 10
    missing = [row for row in rows if not (ROOT / row).exists()]
    assert missing == []


def test_every_stage_of_the_package_has_a_row() -> None:
    rows = set(layout_rows())
    package = ROOT / "ivrflow"
    entries = [
        f"ivrflow/{p.name}/" if p.is_dir() else f"ivrflow/{p.name}"
        for p in sorted(package.iterdir())
        if p.name not in ("__pycache__", "__main__.py", "py.typed")
    ]
    assert [e for e in entries if e not in rows] == []
