"""Golden tests: the exact text `ivrflow check` prints for malformed flows.

Each `cases/<name>.ivr` (top level only; `cases/modules/` and `cases/lists/` hold files the
cases use) has `cases/<name>.expected`: a first line `# exit: N`, then the output of

    ivrflow check [options] tests/golden/cases/<name>.ivr

run from the repository root. Options come from the name: `json_*` adds `--format json`,
`strict_*` adds `--strict`. Cases named `*_without_babel` run with Babel hidden, as when the
`locales` extra is not installed (its W209 hint differs). Files whose bytes cannot be committed sensibly (a 9 MiB flow) are
made by `GENERATED` in a scratch copy of the repository layout.

To rewrite every expected file from the current compiler (then READ the diff):

    IVRFLOW_UPDATE_GOLDEN=1 pytest tests/golden
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ivrflow.cli import main

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
UPDATE = os.environ.get("IVRFLOW_UPDATE_GOLDEN") == "1"
CODE = re.compile(r'"([EW]\d{3})"')
SHOWN_CODE = re.compile(r"\b(?:error|warning)\[([EW]\d{3})\]|\"code\": \"([EW]\d{3})\"")

# Codes that appear in the source as strings but are never emitted, and why.
NOT_EMITTED = {"E100": "load() compares codes with it: below E100 is a syntax error"}


def _too_large(path: Path) -> None:
    with path.open("wb") as f:  # sparse: 9 MiB on paper, nothing on disk
        f.truncate(9 * 1024 * 1024)


GENERATED: dict[str, Callable[[Path], None]] = {"E004_too_large.ivr": _too_large}


def _case_names() -> list[str]:
    names = {p.name for p in CASES.glob("*.ivr")} | set(GENERATED)
    return sorted(names)


def _argv(name: str) -> list[str]:
    options = []
    if name.startswith("json_"):
        options += ["--format", "json"]
    if name.startswith("strict_"):
        options.append("--strict")
    return ["check", *options, f"tests/golden/cases/{name}"]


def _expected_path(name: str) -> Path:
    return CASES / (name.removesuffix(".ivr") + ".expected")


def _run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> str:  # type: ignore[no-untyped-def]
    if name in GENERATED:
        root = tmp_path / "repo"
        (root / "tests/golden/cases").mkdir(parents=True)
        GENERATED[name](root / "tests/golden/cases" / name)
        monkeypatch.chdir(root)
    else:
        monkeypatch.chdir(REPO)
    if name.removesuffix(".ivr").endswith("_without_babel"):
        monkeypatch.setitem(sys.modules, "babel", None)
    code = main(_argv(name))
    out = capsys.readouterr().out
    return f"# exit: {code}\n{out}"


@pytest.mark.parametrize("name", _case_names())
def test_golden(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    actual = _run(name, tmp_path, monkeypatch, capsys)
    expected_file = _expected_path(name)
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
        return
    assert expected_file.exists(), f"no {expected_file.name}; run IVRFLOW_UPDATE_GOLDEN=1 pytest"
    assert actual == expected_file.read_text(encoding="utf-8")


def test_every_expected_file_has_its_case() -> None:
    names = set(_case_names())
    orphans = [p.name for p in CASES.glob("*.expected") if p.stem + ".ivr" not in names]
    assert orphans == []


def test_cli_process_prints_the_same() -> None:
    """The real command, in its own process, prints what the in-process run pinned."""
    name = "several_independent_errors.ivr"
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", *_argv(name)],
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert proc.stderr == ""
    assert f"# exit: {proc.returncode}\n{proc.stdout}" == _expected_path(name).read_text("utf-8")


def _source_codes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for py in sorted((REPO / "ivrflow").rglob("*.py")):
        for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), start=1):
            for code in CODE.findall(line):
                found.setdefault(code, []).append(f"{py.relative_to(REPO)}:{n}: {line.strip()}")
    return found


def test_every_diagnostic_code_has_a_golden_case() -> None:
    covered: set[str] = set()
    for expected in CASES.glob("*.expected"):
        for m in SHOWN_CODE.finditer(expected.read_text(encoding="utf-8")):
            covered.add(m.group(1) or m.group(2))
    source = _source_codes()
    missing = sorted(set(source) - covered - set(NOT_EMITTED))
    assert missing == [], "codes without a golden case:\n" + "\n".join(
        source[c][0] for c in missing
    )


def test_codes_listed_as_not_emitted_are_only_compared() -> None:
    source = _source_codes()
    for code in NOT_EMITTED:
        for where in source.get(code, []):
            assert re.search(r'(<|>|==|!=)\s*"' + code + '"', where), where
