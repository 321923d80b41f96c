"""The traffic model file: what it accepts, and errors that name the file, line and YAML path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ivrflow
from ivrflow.traffic.model import ModelError, check_against, load_model, parse_model

ROOT = Path(__file__).resolve().parents[2]


def _error(text: str) -> str:
    with pytest.raises(ModelError) as info:
        parse_model(text, "m.yaml")
    return str(info.value)


def test_defaults_make_a_usable_model() -> None:
    m = parse_model("queues: {q: {agents: 3, aht: 5m}}")
    assert m.per_hour == (60.0,) * 24 and m.weekdays == (1.0,) * 7
    assert m.queues["q"].aht == 300.0 and m.queues["q"].patience is None  # Erlang C
    assert (m.sl_target, m.sl_threshold) == (0.8, 20.0)
    assert m.unknown_condition == 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "days: 7\nstates:\n  main:\n    noinput: 1.5\n",
            "m.yaml:4: states.main.noinput: must be between 0 and 1",
        ),
        ("arrivals:\n  per_hour: [1, 2]\n", "m.yaml:2: arrivals.per_hour: expected a list of 24"),
        (
            "queues:\n  billing: {agents: 3}\n",
            "m.yaml:2: queues.billing: a queue needs agents and aht",
        ),
        (
            "queues:\n  billing: {agents: 3, aht: soon}\n",
            "m.yaml:2: queues.billing.aht: expected seconds",
        ),
        ("target: 80-20\n", "m.yaml:1: target: expected a service-level target like 80/20"),
        ("queus: {}\n", "m.yaml:1: queus: unknown key; did you mean 'queues'?"),
        (
            "states:\n  main: {choices: {'1': yes}}\n",
            "m.yaml:2: states.main.choices.1: expected a number",
        ),
        ("a: [1\n", "m.yaml:2: not valid YAML"),
    ],
)
def test_errors_name_file_line_and_path(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


def test_the_model_is_checked_against_the_flow() -> None:
    flow = ivrflow.load(ROOT / "flows/billing.ivr")
    m = parse_model(
        "states:\n"
        "  main_meny: {noinput: 0.1}\n"
        "  main_menu: {choices: {'7': 1}}\n"
        "lookups:\n"
        "  fetch_acount: {latency: 1}\n"
        "queues:\n"
        "  billing: {agents: 1, aht: 60}\n",
        "m.yaml",
    )
    problems = check_against(m, flow)
    assert (
        "m.yaml:2: states.main_meny: flow 'billing' has no state 'main_meny'; did you mean 'main_menu'?"
        in problems
    )
    assert any(
        p.startswith("m.yaml:3: states.main_menu.choices.7: menu 'main_menu' has no choice '7'")
        for p in problems
    )
    assert any(
        "lookups.fetch_acount" in p and "did you mean 'fetch_account'" in p for p in problems
    )
    assert any("queue 'billing_intl'" in p for p in problems)


@pytest.mark.parametrize("name", ["billing", "bank", "telecom_support", "appointments"])
def test_shipped_models_fit_their_flows(name: str) -> None:
    flow = ivrflow.load(ROOT / f"flows/{name}.ivr")
    assert check_against(load_model(ROOT / f"flows/models/{name}.yaml"), flow) == []


def test_the_documented_example_loads_and_fits_billing() -> None:
    doc = (ROOT / "docs/traffic.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert block is not None, "docs/traffic.md has a yaml example"
    m = parse_model(block.group(1), "docs/traffic.md")
    assert check_against(m, ivrflow.load(ROOT / "flows/billing.ivr")) == []
    assert m.states["main_menu"].choices and m.queues["billing"].patience
