"""Reliability in figures: fuzzed calls, fault scenarios, hostile inputs, lost records, leaks.

Run from the project root:

    .venv/bin/python bench/reliability.py                    # every flow, 2,000 calls each
    .venv/bin/python bench/reliability.py --calls 500 --seed 7

Three parts, one table:

  fuzzing     `ivrflow.fuzzing.fuzz_flow` on every flow in flows/: random callers (keys,
              invalid keys, early keys, silence, near-miss and garbage utterances, hang-ups
              anywhere), look-ups that fail, time out or answer garbage, queues that are full.
              Every call is checked: no exception escapes, it ends within the flow's bound
              once the caller is silent, exactly one valid record, no secure capture in clear
              in actions, records, traces, log lines or snapshots.
  faults      the tests marked `fault` (pytest -m fault): sinks and stores failing, disks
              full, torn files, connections reset, Redis going away, `kill -9` of a server
              with calls in flight. Each one asserts that no record or callback is lost.
  bad input   the tests marked `abuse` (pytest -m abuse): sandbox escapes, runaway
              expressions, over-long input, over-long protocol lines, oversized bodies,
              forbidden peers, replayed signatures, secrets in logs.

Records lost = fuzzed calls without exactly one record, plus fault scenarios that failed
(each asserts zero lost). Secrets leaked = leaks the fuzzer's audit found, plus failed
secret-in-log tests. Both must be 0. Exit status: 0 when every figure is as it must be.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Suite:
    """What one pytest run of a marker gave."""

    marker: str
    tests: int = 0
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_marked(marker: str) -> Suite:
    """Run `pytest -m MARKER` in a child process and read its JUnit XML."""
    suite = Suite(marker)
    with tempfile.TemporaryDirectory(prefix="ivrflow-reliability-") as tmp:
        xml = Path(tmp) / "junit.xml"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker,
             f"--junitxml={xml}", "tests"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        suite.seconds = time.perf_counter() - started
        if not xml.exists():
            suite.failed.append("pytest did not run (no JUnit report)")
            return suite
        for case in ET.parse(xml).iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            suite.tests += 1
            if case.find("skipped") is not None:
                suite.skipped.append(name)
            elif case.find("failure") is not None or case.find("error") is not None:
                suite.failed.append(name)
            else:
                suite.passed += 1
    return suite


def fuzz_all(calls: int, seed: int) -> dict[str, Any]:
    from ivrflow.tools.fuzzing import fuzz_flow

    totals: dict[str, Any] = {"flows": {}, "calls": 0, "violations": 0, "records_lost": 0,
                              "secrets_leaked": 0, "outcomes": Counter(), "seconds": 0.0}  # fmt: skip
    for path in sorted((ROOT / "flows").glob("*.ivr")):
        started = time.perf_counter()
        report = fuzz_flow(path, calls=calls, seed=seed)
        seconds = time.perf_counter() - started
        totals["flows"][path.name] = {
            "calls": report.calls,
            "violations": len(report.violations),
            "records_lost": report.records_lost,
            "secrets_leaked": report.secrets_leaked,
            "calls_per_s": report.calls / seconds if seconds else 0.0,
            "first_violations": [str(v) for v in report.violations[:3]],
        }
        totals["calls"] += report.calls
        totals["violations"] += len(report.violations)
        totals["records_lost"] += report.records_lost
        totals["secrets_leaked"] += report.secrets_leaked
        totals["outcomes"].update(report.outcomes)
        totals["seconds"] += seconds
    return totals


def _secret_tests(suite: Suite) -> list[str]:
    return [name for name in suite.failed if "secret" in name.lower() or "leak" in name.lower()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=2000, help="fuzzed calls per flow")
    p.add_argument("--seed", type=int, default=20261124, help="the fuzzer's seed")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)

    fuzz = fuzz_all(args.calls, args.seed)
    faults = run_marked("fault")
    abuse = run_marked("abuse")
    lost = fuzz["records_lost"] + len(faults.failed)
    leaked = fuzz["secrets_leaked"] + len(_secret_tests(abuse)) + len(_secret_tests(faults))
    figures = {
        "calls_fuzzed": fuzz["calls"],
        "invariant_violations": fuzz["violations"],
        "fault_scenarios": faults.tests,
        "fault_scenarios_survived": faults.passed,
        "bad_inputs_tried": abuse.tests,
        "bad_inputs_refused": abuse.passed,
        "records_lost": lost,
        "secrets_leaked": leaked,
    }
    ok = (
        fuzz["violations"] == 0
        and lost == 0
        and leaked == 0
        and not faults.failed
        and not abuse.failed
        and faults.tests > 0
        and abuse.tests > 0
    )
    if args.json:
        print(json.dumps({"figures": figures, "fuzz": fuzz, "ok": ok}, indent=2, default=str))
        return 0 if ok else 1

    print(f"Reliability: seed {args.seed}, {args.calls} fuzzed calls per flow\n")
    rows = [
        ("calls fuzzed", f"{fuzz['calls']:,}", f"{len(fuzz['flows'])} flows, "
         f"{fuzz['calls'] / fuzz['seconds']:,.0f} calls/s" if fuzz["seconds"] else ""),
        ("invariant violations", str(fuzz["violations"]), "must be 0"),
        ("fault scenarios survived", f"{faults.passed}/{faults.tests}",
         f"pytest -m fault, {faults.seconds:.0f} s" + (f", {len(faults.skipped)} skipped"
                                                       if faults.skipped else "")),
        ("bad inputs refused", f"{abuse.passed}/{abuse.tests}",
         f"pytest -m abuse, {abuse.seconds:.0f} s" + (f", {len(abuse.skipped)} skipped"
                                                      if abuse.skipped else "")),
        ("records lost", str(lost), "must be 0"),
        ("secrets leaked", str(leaked), "must be 0"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>{vwidth}}   {note}")
    print("\nper flow:")
    for name, f in fuzz["flows"].items():
        print(
            f"  {name:<24} {f['calls']:>6} calls  {f['violations']} violations  "
            f"{f['records_lost']} lost  {f['secrets_leaked']} leaks  {f['calls_per_s']:,.0f} calls/s"
        )
        for v in f["first_violations"]:
            print(f"      {v}")
    print(f"\noutcomes: {dict(fuzz['outcomes'].most_common())}")
    for suite in (faults, abuse):
        for name in suite.failed:
            print(f"FAILED ({suite.marker}): {name}")
        for name in suite.skipped:
            print(f"skipped ({suite.marker}): {name}")
    print(f"\nverdict: {'all figures as they must be' if ok else 'NOT met'}")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
