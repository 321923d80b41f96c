"""`ivrflow traffic` as users run it: a child process on the example flows and their models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import open_in_chromium
from conftest import ROOT, Run, cli_env

FLOWS = ["billing", "bank", "telecom_support", "appointments"]
QUICK = ("--days", "1", "--replications", "2")


def _paths(name: str) -> tuple[str, str]:
    return str(ROOT / f"flows/{name}.ivr"), str(ROOT / f"flows/models/{name}.yaml")


@pytest.mark.parametrize("name", FLOWS)
def test_every_example_flow_runs_with_its_model(run: Run, name: str) -> None:
    flow, model = _paths(name)
    proc = run("traffic", flow, "--model", model, *QUICK, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    shares = sum(v["mean"] for v in data["outcomes"].values())
    assert abs(shares - 1.0) < 1e-3  # every call ends exactly one way (shares rounded)
    assert data["calls_per_day"]["mean"] > 100
    assert data["queues"] and data["assumed"] == {}  # the shipped models leave nothing to guess
    for q in data["queues"].values():
        assert 0.0 <= q["service_level"]["mean"] <= 1.0


def test_text_report_and_same_seed_same_figures(run: Run) -> None:
    flow, model = _paths("billing")
    # Same seed, same figures — even in processes that hash strings differently.
    first = run(
        "traffic", flow, "--model", model, *QUICK, "--seed", "7", env=cli_env(PYTHONHASHSEED="1")
    )
    again = run(
        "traffic", flow, "--model", model, *QUICK, "--seed", "7", env=cli_env(PYTHONHASHSEED="2")
    )
    other = run("traffic", flow, "--model", model, *QUICK, "--seed", "8")
    assert first.returncode == 0, first.stderr
    assert "containment" in first.stdout and "service level (80/20)" in first.stdout
    assert first.stdout == again.stdout != other.stdout


def test_sweep_finds_the_fewest_agents_for_the_target(run: Run) -> None:
    flow, model = _paths("billing")
    proc = run(
        "traffic", flow, "--model", model, *QUICK,
        "--sweep", "agents=14..22", "--queue", "billing", "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sweep = json.loads(proc.stdout)["sweep"]
    levels = [r["service_level"]["mean"] for r in sweep["rows"]]
    assert levels[-1] > levels[0]  # more agents, better service
    needed = sweep["agents_needed"]
    assert needed is not None
    first_ok = next(r["agents"] for r in sweep["rows"] if r["service_level"]["mean"] >= 0.8)
    assert needed == first_ok
    text = run(
        "traffic", flow, "--model", model, *QUICK, "--sweep", "agents=14..22", "--queue", "billing"
    )
    assert f"→ {needed} agents meet 80/20" in text.stdout
    # Issue 16: the sweep says which of the model's staffing its rows stand in for.
    import yaml

    hours = yaml.safe_load(Path(model).read_text(encoding="utf-8"))["queues"]["billing"]["agents"]
    spans, start = [], 0
    for h in range(1, 25):
        if h == 24 or hours[h] != hours[start]:
            spans.append(f"{start:02d}-{h:02d} {hours[start]}")
            start = h
    replaced = "the model's schedule: " + ", ".join(spans)
    assert f"  14..22 agents all day replace {replaced}\n" in text.stdout
    assert sweep["replaces"] == replaced


def test_an_overloaded_queue_without_abandonment_is_called_unstable(
    run: Run, tmp_path: Path
) -> None:
    flow, _ = _paths("billing")
    model = tmp_path / "m.yaml"
    model.write_text(
        "arrivals: {rate: 200}\n"
        "queues:\n  billing: {agents: 3, aht: 300}\n  billing_intl: {agents: 3, aht: 300}\n",
        encoding="utf-8",
    )
    proc = run("traffic", flow, "--model", str(model), *QUICK)
    assert proc.returncode == 0, proc.stderr
    assert "UNSTABLE" in proc.stdout and "grows without bound" in proc.stdout
    data = json.loads(
        run("traffic", flow, "--model", str(model), *QUICK, "--format", "json").stdout
    )
    assert data["queues"]["billing"]["unstable"] is True


def test_bad_models_and_usage_exit_2_with_the_place(run: Run, tmp_path: Path) -> None:
    flow, _ = _paths("billing")
    bad = tmp_path / "bad.yaml"
    bad.write_text("queues:\n  billing: {agents: 3, aht: 300}\nstates:\n  main_menu: {hangup: 2}\n")
    proc = run("traffic", flow, "--model", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:4: states.main_menu.hangup: must be between 0 and 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = run("traffic", flow, "--model", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "cannot read the model" in missing.stderr
    assert run("traffic", flow).returncode == 2  # no model, nothing to fit
    sweep = run("traffic", flow, "--model", _paths("billing")[1], "--sweep", "agents=9")
    assert sweep.returncode == 2 and "agents=A..B" in sweep.stderr


def test_a_flow_that_does_not_compile_exits_1(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ivr"
    broken.write_text('flow x "X"\n\nstart:\n  -> nowhere\n', encoding="utf-8")
    proc = run("traffic", str(broken), "--model", _paths("billing")[1])
    assert proc.returncode == 1 and "nowhere" in proc.stderr


def test_fit_from_the_sample_records_then_simulate(run: Run, tmp_path: Path) -> None:
    flow, model = _paths("billing")
    out = tmp_path / "fitted.yaml"
    records = ROOT / "flows/records/billing.jsonl"
    proc = run("traffic", flow, "--fit", str(records), "--model", model, "--write-model", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Fitted by `ivrflow traffic --fit`")
    sim = run("traffic", flow, "--model", str(out), *QUICK, "--format", "json")
    assert sim.returncode == 0, sim.stderr
    data = json.loads(sim.stdout)
    # The fitted model reproduces the records' own containment, within a few points.
    lines = [json.loads(x) for x in records.read_text(encoding="utf-8").splitlines() if x.strip()]
    served = sum(r["outcome"]["kind"] == "self_served" for r in lines) / len(lines)
    assert data["containment"]["mean"] == pytest.approx(served, abs=0.1)


def test_html_report_opens_in_chromium_without_errors(run: Run, tmp_path: Path) -> None:
    flow, model = _paths("billing")
    page_file = tmp_path / "traffic.html"
    proc = run(
        "traffic", flow, "--model", model, *QUICK,
        "--sweep", "agents=10..13", "--queue", "billing", "--html", str(page_file),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    page = open_in_chromium(page_file)
    assert page.errors == []
    assert "billing: service level by hour" in page.dom and "Agents for billing" in page.dom
    assert "<svg" in page.dom
