"""docs/migration.md is true: every row's scenarios exist and pass, every construct the issue
lists has a row, and a row with no scenario says why (issue 12, item 11)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivrflow.tools import scenarios

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "migration.md"
SCENARIOS = ROOT / "tests" / "migration" / "scenarios"

FREESWITCH = [
    "greet-long", "greet-short", "invalid-sound", "exit-sound", "timeout",
    "inter-digit-timeout", "max-failures", "max-timeouts", "digit-len", "entries with a regex",
    "menu-sub", "menu-top", "transfer", "bridge",
]  # fmt: skip
CONNECT = [
    "Play prompt", "Get customer input", "Store customer input", "Invoke AWS Lambda function",
    "Check contact attributes", "Set working queue", "Check hours of operation",
    "Check queue status", "Set callback number", "Transfer to queue", "Loop",
    "Distribute by percentage", "Disconnect",
]  # fmt: skip
STUDIO = [
    "gather-input-on-call", "split-based-on", "say-play", "set-variables", "make-http-request",
    "enqueue-call", "connect-call-to", "record-voicemail", "capture-payments",
]  # fmt: skip


def rows() -> list[tuple[str, str, str]]:
    out = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in (
            "---",
            "FreeSWITCH",
            "Connect block",
            "Studio widget",
        ):
            out.append((cells[0], cells[1], cells[2]))
    return out


def named(cell: str) -> list[str]:
    return re.findall(r"`([\w.-]+\.yaml)`", cell)


@pytest.mark.parametrize("construct", FREESWITCH + CONNECT + STUDIO)
def test_every_listed_construct_has_a_row(construct: str) -> None:
    assert any(construct in first for first, _, _ in rows()), construct


def test_a_row_without_scenarios_says_why() -> None:
    for first, how, tested in rows():
        if not named(tested):
            assert tested == "—", first
            assert re.search(r"\bnot yet\b|\bcannot\b|\bno such\b", how, re.I), first


def test_every_scenario_is_named_by_a_row() -> None:
    used = {name for _, _, tested in rows() for name in named(tested)}
    assert used == {p.name for p in SCENARIOS.glob("*.yaml")}


@pytest.mark.parametrize(
    "name", sorted({n for _, _, tested in rows() for n in named(tested)}), ids=str
)
def test_the_row_runs_the_way_it_says(name: str) -> None:
    result = scenarios.run_file(SCENARIOS / name)
    assert result.passed, result.details()
