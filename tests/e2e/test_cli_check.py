"""`ivrflow check` as users run it: a real child process, no terminal.

Exit codes: 0 ok, 1 a file has errors (or warnings under --strict), 2 bad usage.
Whatever the input, the output is a diagnostic and never a Python traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ivrflow

GOOD = """
flow good "Good hotline"
  language pt-BR
  timeout 5s, retries 2

start:
  say "Olá, obrigado por ligar."
  -> main_menu

menu main_menu:
  say "Para saldo, tecle 1. Para sair, tecle 9."
  1, "saldo" -> balance
  9, "sair" -> bye
  noinput 1: say "Não ouvi."
  nomatch 1: say "Opção inválida."
  exhausted -> bye

step balance:
  say "Seu saldo está em dia."
  -> bye

step bye:
  hangup "done"
"""

# An error with a did-you-mean hint (E104) on line 3.
BAD = """
flow bad "Bad hotline"
start:
  goto main_meny
step main_menu:
  hangup "done"
"""

# Compiles, but with a warning (W201: a state nothing reaches).
WARNS = """
flow warns "Warning hotline"
start:
  hangup "done"
step orphan:
  hangup "never"
"""

HEAD = re.compile(
    r"^(?P<path>\S[^\n]*?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning)\[(?P<code>[EW]\d{3})\]: \S",
    re.M,
)
ANY_ERROR = re.compile(
    r"^(?P<path>\S[^\n]*?)(:\d+:\d+)?: error\[(?P<code>E\d{3})\]: (?P<msg>.+)$", re.M
)
CARET = re.compile(r"^ +\| *\^+$", re.M)


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout


def json_files(stdout: str) -> list[dict]:
    """The JSON report as a list of per-file objects (one file may print a bare object)."""
    data = json.loads(stdout)
    return data if isinstance(data, list) else [data]


# ---------------------------------------------------------------- good, bad, strict


def test_good_flow_exits_0_and_says_ok(run, flow_file) -> None:
    flow_file("good.ivr", GOOD)
    proc = run("check", "good.ivr")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good.ivr" in proc.stdout
    assert "ok" in proc.stdout
    assert "error" not in proc.stdout


def test_errors_exit_1_with_position_caret_and_hint(run, flow_file) -> None:
    flow_file("bad.ivr", BAD)
    proc = run("check", "bad.ivr")
    no_traceback(proc)
    assert proc.returncode == 1
    out = proc.stdout
    heads = [m for m in HEAD.finditer(out) if m["sev"] == "error"]
    assert heads, out
    first = heads[0]
    assert (first["path"], first["line"], first["col"], first["code"]) == (
        "bad.ivr",
        "3",
        "8",
        "E104",
    )
    assert "main_meny" in out
    # The source line, then a caret under the exact column, then the hint.
    lines = out.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("bad.ivr:3:8: error[E104]: "))
    assert lines[at + 1].rstrip().endswith("goto main_meny")
    assert CARET.match(lines[at + 2]), lines[at + 2]
    gutter = lines[at + 1].index("|")
    assert lines[at + 2].index("^") - gutter - 2 == 8 - 1
    assert lines[at + 3].strip() == "= hint: did you mean 'main_menu'?"


def test_warning_alone_exits_0_but_1_under_strict(run, flow_file) -> None:
    flow_file("warns.ivr", WARNS)
    plain = run("check", "warns.ivr")
    no_traceback(plain)
    assert plain.returncode == 0, plain.stdout
    assert "warning[W201]" in plain.stdout

    strict = run("check", "--strict", "warns.ivr")
    no_traceback(strict)
    assert strict.returncode == 1, strict.stdout
    assert "[W201]" in strict.stdout
    assert re.search(r"^warns\.ivr:4:6: \w+\[W201\]: ", strict.stdout, re.M), strict.stdout


def test_quiet_prints_nothing_on_success(run, flow_file) -> None:
    flow_file("good.ivr", GOOD)
    proc = run("check", "-q", "good.ivr")
    assert proc.returncode == 0
    assert proc.stdout == ""


# ---------------------------------------------------------------- JSON


def test_json_has_code_line_column_hint(run, flow_file) -> None:
    flow_file("bad.ivr", BAD)
    proc = run("check", "--format", "json", "bad.ivr")
    no_traceback(proc)
    assert proc.returncode == 1
    (report,) = json_files(proc.stdout)
    assert report["path"] == "bad.ivr"
    assert report["ok"] is False
    e104 = [d for d in report["diagnostics"] if d["code"] == "E104"]
    assert e104, report
    d = e104[0]
    assert (d["line"], d["column"], d["severity"]) == (3, 8, "error")
    assert d["hint"] == "did you mean 'main_menu'?"
    assert "main_meny" in d["message"]


def test_json_on_good_and_strict(run, flow_file) -> None:
    flow_file("good.ivr", GOOD)
    flow_file("warns.ivr", WARNS)
    good = run("check", "--format", "json", "good.ivr")
    assert good.returncode == 0
    assert json_files(good.stdout)[0]["ok"] is True

    strict = run("check", "--format", "json", "--strict", "warns.ivr")
    assert strict.returncode == 1
    (report,) = json_files(strict.stdout)
    assert report["ok"] is False
    assert [d["code"] for d in report["diagnostics"]] == ["W201"]


def test_json_reports_file_problems_too(run) -> None:
    proc = run("check", "--format", "json", "missing.ivr")
    no_traceback(proc)
    assert proc.returncode == 1
    (report,) = json_files(proc.stdout)
    assert [d["code"] for d in report["diagnostics"]] == ["E001"]


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--no-such-option",),
        ("frobnicate",),
        ("check",),
        ("check", "--format", "xml", "x.ivr"),
        ("check", "--bogus", "x.ivr"),
    ],
    ids=[
        "no-args",
        "unknown-option",
        "unknown-command",
        "check-no-files",
        "bad-format",
        "check-bogus",
    ],
)
def test_bad_usage_exits_2(run, args) -> None:
    proc = run(*args)
    no_traceback(proc)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "usage" in proc.stderr.lower()


def test_version(run) -> None:
    proc = run("--version")
    no_traceback(proc)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"ivrflow {ivrflow.__version__}"


# ---------------------------------------------------------------- files that are not flows


def _one_clear_error(proc: subprocess.CompletedProcess[str], name: str, code: str) -> str:
    no_traceback(proc)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    errors = list(ANY_ERROR.finditer(proc.stdout))
    assert len(errors) == 1, proc.stdout
    (err,) = errors
    assert err["path"] == name, proc.stdout
    assert err["code"] == code, proc.stdout
    assert name in err["msg"], proc.stdout
    return err["msg"]


def test_missing_file(run) -> None:
    msg = _one_clear_error(run("check", "nowhere.ivr"), "nowhere.ivr", "E001")
    assert "not found" in msg


def test_directory(run, tmp_path: Path) -> None:
    # A directory stands for its flows (issue 16); one without any is a usage error, said once.
    (tmp_path / "flows.ivr").mkdir()
    proc = run("check", "flows.ivr")
    no_traceback(proc)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr == "ivrflow check: no .ivr files in flows.ivr\n"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a chmod 000 file anyway"
)
def test_unreadable_file(run, flow_file) -> None:
    p = flow_file("secret.ivr", GOOD)
    p.chmod(0)
    try:
        msg = _one_clear_error(run("check", "secret.ivr"), "secret.ivr", "E001")
    finally:
        p.chmod(0o644)
    assert "permission" in msg


def test_binary_file(run, tmp_path: Path) -> None:
    (tmp_path / "binary.ivr").write_bytes(b'flow x "a"\n\x00\x01\x02\xff\xfe' * 50)
    msg = _one_clear_error(run("check", "binary.ivr"), "binary.ivr", "E002")
    assert "binary" in msg


def test_non_utf8_file(run, tmp_path: Path) -> None:
    (tmp_path / "latin1.ivr").write_bytes('flow caf "Café"\nstart:\n  hangup\n'.encode("latin-1"))
    msg = _one_clear_error(run("check", "latin1.ivr"), "latin1.ivr", "E002")
    assert "UTF-8" in msg
    assert re.search(r"^latin1\.ivr:1:\d+: error\[E002\]", run("check", "latin1.ivr").stdout, re.M)


def test_empty_file(run, tmp_path: Path) -> None:
    (tmp_path / "empty.ivr").write_bytes(b"")
    msg = _one_clear_error(run("check", "empty.ivr"), "empty.ivr", "E003")
    assert "empty" in msg


def test_whitespace_only_file(run, tmp_path: Path) -> None:
    (tmp_path / "blank.ivr").write_bytes(b"  \n\t\n\r\n   \n")
    msg = _one_clear_error(run("check", "blank.ivr"), "blank.ivr", "E003")
    assert "empty" in msg


def test_enormous_file(run, tmp_path: Path) -> None:
    line = b"# " + b"x" * 1021 + b"\n"
    with (tmp_path / "huge.ivr").open("wb") as f:
        f.write(b'flow huge "Huge"\n')
        for _ in range(9 * 1024):  # 9 MiB
            f.write(line)
    msg = _one_clear_error(run("check", "huge.ivr"), "huge.ivr", "E004")
    assert "too large" in msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_does_not_hang(run, tmp_path: Path) -> None:
    """Nobody writes to the pipe: reading it would block forever."""
    os.mkfifo(tmp_path / "pipe.ivr")
    try:
        proc = run("check", "pipe.ivr", timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("`ivrflow check` on a FIFO hangs")
    _one_clear_error(proc, "pipe.ivr", "E001")


@pytest.mark.skipif(
    not Path("/dev/zero").exists() or sys.platform != "linux", reason="needs /dev/zero (Linux)"
)
def test_device_file_is_refused(tmp_path: Path, cli_env) -> None:
    """/dev/zero reports size 0 but never ends: the size limit must hold while reading."""
    import resource

    def limit_memory() -> None:  # the child may not eat the machine while this is broken
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ivrflow", "check", "/dev/zero"],
            cwd=tmp_path,
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=30,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`ivrflow check /dev/zero` never ends")
    no_traceback(proc)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    errors = ANY_ERROR.findall(proc.stdout)
    assert len(errors) == 1, proc.stdout
    assert re.search(r"^/dev/zero: error\[E00[14]\]: ", proc.stdout, re.M), proc.stdout


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs symlinks")
def test_symlink_loop(run, flow_file, tmp_path: Path) -> None:
    (tmp_path / "loop1.ivr").symlink_to("loop2.ivr")
    (tmp_path / "loop2.ivr").symlink_to("loop1.ivr")
    _one_clear_error(run("check", "loop1.ivr"), "loop1.ivr", "E001")
    flow_file("uses.ivr", 'flow uses\nuse "loop1.ivr"\nstart:\n  hangup\n')
    proc = run("check", "uses.ivr")
    no_traceback(proc)
    assert proc.returncode == 1
    assert re.search(r"^uses\.ivr:2:5: error\[E001\]", proc.stdout, re.M), proc.stdout


# ---------------------------------------------------------------- several files


def test_several_files_report_each_and_fail_if_any_fails(run, flow_file, tmp_path: Path) -> None:
    flow_file("good.ivr", GOOD)
    flow_file("bad.ivr", BAD)
    (tmp_path / "empty.ivr").write_bytes(b"")
    proc = run("check", "bad.ivr", "good.ivr", "missing.ivr", "empty.ivr")
    no_traceback(proc)
    assert proc.returncode == 1
    out = proc.stdout
    assert re.search(r"^bad\.ivr:3:8: error\[E104\]", out, re.M), out
    assert re.search(r"^good\.ivr: ok", out, re.M), out
    assert re.search(r"^missing\.ivr: error\[E001\]", out, re.M), out
    assert re.search(r"^empty\.ivr: error\[E003\]", out, re.M), out


def test_several_good_files_exit_0(run, flow_file) -> None:
    flow_file("a.ivr", GOOD)
    flow_file("b.ivr", GOOD.replace("flow good", "flow other"))
    proc = run("check", "a.ivr", "b.ivr")
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"^a\.ivr: ok", proc.stdout, re.M)
    assert re.search(r"^b\.ivr: ok", proc.stdout, re.M)


def test_several_files_as_json(run, flow_file) -> None:
    flow_file("good.ivr", GOOD)
    flow_file("bad.ivr", BAD)
    proc = run("check", "--format", "json", "good.ivr", "bad.ivr")
    assert proc.returncode == 1
    reports = {r["path"]: r for r in json_files(proc.stdout)}
    assert reports["good.ivr"]["ok"] is True
    assert reports["bad.ivr"]["ok"] is False


# ---------------------------------------------------------------- hostile terminals


def test_output_survives_an_ascii_stdout(run, flow_file, cli_env) -> None:
    """A console that cannot encode '—' or 'ã' must not turn a report into a traceback."""
    flow_file("good.ivr", GOOD)
    flow_file("bad.ivr", BAD.replace('hangup "done"', 'say "Não"\n  hangup "done"'))
    for args in (
        ("check", "good.ivr"),
        ("check", "bad.ivr"),
        ("check", "--format", "json", "bad.ivr"),
    ):
        proc = run(*args, env=cli_env(PYTHONIOENCODING="ascii"))
        no_traceback(proc)
        assert proc.returncode in (0, 1), (args, proc.stderr)


def test_closed_stdout_pipe_is_not_a_traceback(flow_file, cli_env, tmp_path: Path) -> None:
    """`ivrflow check … | head -1`: the reader goes away; the command must not crash."""
    many = "flow many\nstart:\n" + "".join(f"  goto nowhere_{i}\n" for i in range(3000))
    flow_file("many.ivr", many)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "check", "many.ivr"],
        cwd=tmp_path,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child writes anything
    stderr = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=60)
    assert "Traceback" not in stderr, stderr
