"""flows/records/ is what scripts/make_sample_records.py writes today, byte for byte.

The sample records are real interpreter output; if the record format, a flow or the
interpreter changes, this test says the samples are stale (regenerate them with
`.venv/bin/python scripts/make_sample_records.py` and commit the result).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ivrflow.runtime.record import build_record

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "flows" / "records"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_sample_records", ROOT / "scripts" / "make_sample_records.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("records")
    assert script().main(["--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", ["appointments", "bank", "billing", "telecom_support"])
def test_the_script_reproduces_the_committed_records(regenerated: Path, name: str) -> None:
    committed = (RECORDS / f"{name}.jsonl").read_bytes()
    again = (regenerated / f"{name}.jsonl").read_bytes()
    assert again == committed, (
        f"flows/records/{name}.jsonl is stale: run scripts/make_sample_records.py"
    )


def test_the_samples_are_a_week_of_calls_with_every_outcome_and_small_files() -> None:
    outcomes: set[str] = set()
    days: set[str] = set()
    total = 0
    for path in sorted(RECORDS.glob("*.jsonl")):
        assert path.stat().st_size < 3_000_000
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            outcomes.add(record["outcome"]["kind"])
            days.add(record["started_at"][:10])
            total += 1
    assert outcomes == {"self_served", "transferred", "callback_scheduled", "abandoned", "error"}
    assert len(days) >= 7
    assert 2000 <= total <= 10000


def test_the_samples_have_exactly_the_fields_of_a_real_record() -> None:
    from ivrflow.tools.testing import Call

    call = Call.open(ROOT / "flows" / "billing.ivr")
    call.hangup()
    fields = list(build_record(call.session))
    first = json.loads((RECORDS / "billing.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == fields
