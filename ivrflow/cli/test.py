"""`ivrflow test PATH...`: run scenario files (YAML) against their flows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from ..tools.scenarios import ScenarioResult

NAME = "test"
HELP = "run scenario tests (YAML) against their flows"
DESCRIPTION = (
    "Run scenario files: a call (caller, time, fixtures), the caller's steps and the "
    "expectations on what the IVR says and does. A PATH is a scenario file or a directory "
    "(every *.yaml below it; a directory of .ivr flows contributes its tests/scenarios/). "
    "Prints one line per scenario and ends with 'N passed, N failed'. "
    "Exit 0 when all pass, 1 when one fails, 2 on bad usage."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report for CI")
    p.add_argument(
        "--coverage", action="store_true", help="print the states and edges exercised, per flow"
    )
    p.add_argument(
        "--min-coverage",
        type=float,
        metavar="PERCENT",
        help="fail when a flow's state or edge coverage is below PERCENT (implies --coverage)",
    )
    p.add_argument(
        "--coverage-file", metavar="FILE", help="write coverage as JSON (for ivrflow graph)"
    )
    p.add_argument(
        "--verbose", "-v", action="store_true", help="print each passing call's transcript too"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..runtime.record import Listener
    from ..tools.coverage import Coverage
    from ..tools.scenarios import Scenario, find, run_file

    out = out or sys.stdout
    err = sys.stderr if out is sys.stdout else out
    minimum = args.min_coverage
    if minimum is not None and not 0 <= minimum <= 100:
        err.write("ivrflow test: error: --min-coverage takes a percentage from 0 to 100\n")
        return EXIT_USAGE
    files: list[str] = []
    for path in args.paths:
        if not Path(path).exists():
            err.write(f"ivrflow test: error: {path}: no such file or directory\n")
            return EXIT_USAGE
        files.extend(f for f in find(path) if f not in files)
    if not files:
        where = ", ".join(args.paths)
        err.write(f"ivrflow test: error: no scenario (*.yaml) found in {where}\n")
        return EXIT_USAGE

    coverage = Coverage()

    def listeners(s: Scenario) -> list[Listener]:
        return [coverage.listener(s.flow_path, s.flow)]

    results: list[ScenarioResult] = []
    for file in files:
        result = run_file(file, on_scenario=listeners)
        results.append(result)
        status = "PASS" if result.passed else "FAIL"
        out.write(f"{status} {result.path}  {result.name}\n")
        if result.errors:
            out.write(result.details() + "\n")
        elif not result.passed:
            out.write("".join(f"    {line}\n" for line in result.details().splitlines()))
        elif args.verbose:
            out.write("".join(f"    {line}\n" for line in result.transcript))
        out.flush()

    failed = sum(1 for r in results if not r.passed)
    passed = len(results) - failed
    code = EXIT_FAILED if failed else EXIT_OK
    if args.junit:
        write_junit(args.junit, results)
    if (args.coverage or minimum is not None) and coverage.flows:
        out.write("\n" + coverage.table() + "\n")
    if args.coverage_file:
        coverage.write(args.coverage_file)
    if minimum is not None:
        low = coverage.below(minimum)
        if low:
            out.write("\n" + "".join(f"FAIL {line}\n" for line in low))
            code = EXIT_FAILED
        elif coverage.flows:
            out.write(f"\ncoverage: every flow at or above {minimum:g}%\n")
    out.write(f"\n{passed} passed, {failed} failed\n")
    return code


def write_junit(path: str, results: list[ScenarioResult]) -> None:
    """One <testcase> per scenario; a failure carries its message and the transcript."""
    import xml.etree.ElementTree as ET

    failures = sum(1 for r in results if r.failure is not None)
    errors = sum(1 for r in results if r.errors)
    duration = sum(_duration(r) for r in results)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="ivrflow scenarios",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{duration:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_classname(r),
            name=r.name,
            file=r.path,
            time=f"{_duration(r):.3f}",
        )
        if r.errors:
            e = ET.SubElement(case, "error", message=_clean(r.errors[0]), type="ScenarioError")
            e.text = _clean("\n".join(r.errors))
        elif r.failure is not None:
            f = r.failure
            first = f.message.splitlines()[0] if f.message else ""
            message = f"{f.step}: {first}"
            node = ET.SubElement(case, "failure", message=_clean(message), type="AssertionError")
            node.text = _clean(str(f))
        if r.call is not None:
            so = ET.SubElement(case, "system-out")
            so.text = _clean("\n".join(str(line) for line in r.transcript))
    ET.indent(suites)
    tree = ET.ElementTree(suites)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _duration(r: ScenarioResult) -> float:
    """Wall-clock seconds (the call's own virtual duration is in the transcript)."""
    return r.seconds


def _classname(r: ScenarioResult) -> str:
    flow = Path(r.flow_path).stem if r.flow_path else "scenarios"
    return f"ivrflow.{flow}.{Path(r.path).stem}"


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters, even escaped."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
