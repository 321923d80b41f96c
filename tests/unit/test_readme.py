"""The README's claims stay true: its two commands, and its diagram is today's."""

from __future__ import annotations

import re
from pathlib import Path

import ivrflow
from ivrflow.tools import graph

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_readme_diagram_is_the_current_billing_graph() -> None:
    block = re.search(r"```mermaid\n(.*?)```", README, re.S)
    assert block is not None
    assert block.group(1) == graph.mermaid(ivrflow.load(ROOT / "flows" / "billing.ivr"))
