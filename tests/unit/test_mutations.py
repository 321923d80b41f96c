"""Property: the compiler survives any mangled flow.

Every example flow (flows/**/*.ivr, plus a built-in sample so this runs on an empty
checkout) is mutated at random — lines and tokens deleted, duplicated or swapped, the
text truncated, odd characters and bytes inserted (NUL, tabs, smart quotes, invalid
UTF-8, very long lines), indentation changed — and then:

- `compile_file(path, text=...)` never raises: it returns a Result, whatever the input;
- for byte-level mutations, compiling the file from disk never raises either;
- every diagnostic with a span points inside its file: 1 <= line <= lines + 1 (end of
  file) and column >= 1; it renders and turns into JSON without error;
- `load` on a mutated file either returns a Flow or raises `FlowError`.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ivrflow
from ivrflow import Flow, FlowError, Result, compile_file, load
from ivrflow.errors import render
from ivrflow.lang.sources import display_path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"

SAMPLE = """\
flow sample "Sample hotline"
  language pt-BR
  timeout 5s, interdigit 3s, retries 3

list vip ["+5511987654321"]
queue billing "Billing" skills [billing], priority 5
function fetch_account(account) timeout 2s
var priority = 0

prompt greeting:
  en-US "Welcome."
  pt-BR "Bem-vindo."

hours office:
  timezone "America/Sao_Paulo"
  mon-fri 08:00-12:00, 13:00-18:00
  sun closed
  closed 2026-12-25 "Natal"

start:
  if ani in vip: set priority = 10
  if not open(office): goto closed_msg
  -> main_menu

menu main_menu:
  say greeting
  say "Para segunda via, tecle 1 ou diga boleto." barge-in off
  1, "segunda via", "boleto" -> account
  0, "atendente" -> agent
  * -> repeat
  noinput 1: say "Não ouvi."
  nomatch 1: say "Opção inválida."; say "De novo."
  exhausted -> agent

capture account:
  digits 6..10
  end "#"
  say "Digite o contrato."
  valid luhn
  ok -> find
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  exhausted -> agent

lookup find fetch_account(account) as acct:
  timeout 2s
  ok -> balance
  error -> agent

step balance:
  say "Seu saldo é {{ acct.balance | currency }}."
  switch acct.status:
    "late", "overdue" -> agent
    else -> main_menu

step closed_msg:
  split:
    50% -> agent
    50%:
      hangup "closed"

transfer agent:
  queue billing
  priority (priority + 1)
  if ewt > 3m -> cb
  busy -> cb

callback cb:
  queue billing
  scheduled -> bye
  declined -> agent

step bye:
  hangup "done"
"""


def _examples() -> list[tuple[str, str]]:
    found = [(str(p), p.read_text("utf-8")) for p in sorted(FLOWS.rglob("*.ivr"))]
    return [(str(FLOWS / "__sample__.ivr"), SAMPLE), *found]


EXAMPLES = _examples()

ODD = [
    "\x00",
    "\t",
    "\t\t",
    "\r",
    "\r\n",
    "\n",
    "\x0b",
    "\x0c",
    "\u2028",
    "\ufeff",
    "“",
    "”",
    "‘",
    "’",
    '"',
    "'",
    "\\",
    ":",
    "->",
    ",",
    "#",
    "{{",
    "}}",
    "{%",
    "(",
    ")",
    "[",
    "]",
    "..",
    "%",
    "é",
    "\U0001f4de",
    "\u200b",
    "9" * 400,
    "x" * 5000,
    " " * 200,
]
KEYWORDS = [
    "flow",
    "module",
    "use",
    "list",
    "queue",
    "hours",
    "function",
    "var",
    "prompt",
    "start",
    "step",
    "menu",
    "capture",
    "lookup",
    "transfer",
    "callback",
    "say",
    "play",
    "set",
    "goto",
    "hangup",
    "call",
    "return",
    "if",
    "elif",
    "else",
    "switch",
    "split",
    "noinput",
    "nomatch",
    "exhausted",
    "ok",
    "error",
    "busy",
    "scheduled",
    "repeat",
    "digits",
    "valid",
    "confirm",
]
CODE = re.compile(r"^[EW]\d{3}$")
text_chars = st.characters(codec="utf-8") | st.sampled_from(ODD) | st.sampled_from(KEYWORDS)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def _mutate_lines(data: st.DataObject, text: str) -> str:
    lines = _lines(text)
    if not lines:
        return text
    op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent":
        lines[i] = data.draw(st.sampled_from([" ", "  ", "\t", "    ", " \t", "\t "])) + lines[i]
    else:
        lines[i] = lines[i].lstrip(" \t")[: data.draw(st.integers(0, 1000))]
        lines[i] = lines[i] if data.draw(st.booleans()) else " " + lines[i]
    return _join(lines)


def _mutate_tokens(data: st.DataObject, text: str) -> str:
    tokens = re.split(r"(\s+)", text)  # keep the whitespace, so lines survive
    words = [k for k, t in enumerate(tokens) if t and not t.isspace()]
    if not words:
        return text
    op = data.draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
    i = data.draw(st.sampled_from(words))
    if op == "delete":
        tokens[i] = ""
    elif op == "duplicate":
        tokens[i] = tokens[i] + " " + tokens[i]
    elif op == "swap":
        j = data.draw(st.sampled_from(words))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    else:
        tokens[i] = data.draw(st.sampled_from(KEYWORDS + ODD[15:32]))
    return "".join(tokens)


def _truncate(data: st.DataObject, text: str) -> str:
    return text[: data.draw(st.integers(0, len(text)))]


def _insert_chars(data: st.DataObject, text: str) -> str:
    at = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.lists(text_chars, min_size=1, max_size=8).map("".join))
    return text[:at] + junk + text[at:]


def _mutate_indentation(data: st.DataObject, text: str) -> str:
    op = data.draw(st.sampled_from(["tabs", "one_space", "three_spaces", "strip", "crlf"]))
    if op == "tabs":
        return text.replace("  ", "\t")
    if op == "one_space":
        return re.sub(r"(?m)^  ", " ", text)
    if op == "three_spaces":
        return re.sub(r"(?m)^  ", "   ", text, count=data.draw(st.integers(1, 5)))
    if op == "crlf":
        return text.replace("\n", "\r\n")
    return re.sub(r"(?m)^[ \t]+", "", text)


TEXT_MUTATIONS = [_mutate_lines, _mutate_tokens, _truncate, _insert_chars, _mutate_indentation]


def _mutated_text(data: st.DataObject) -> tuple[str, str]:
    path, text = data.draw(st.sampled_from(EXAMPLES), label="example")
    for mutate in data.draw(
        st.lists(st.sampled_from(TEXT_MUTATIONS), min_size=1, max_size=4), label="mutations"
    ):
        text = mutate(data, text)
    return path, text


def _line_count(text: str) -> int:
    """Lines as the parser counts them (a final newline ends the last line)."""
    n = text.count("\n")
    return n if text.endswith("\n") else n + 1


def _check_result(result: object, main: str, main_text: str) -> None:
    assert isinstance(result, Result), f"compile_file returned {type(result).__name__}"
    assert result.flow is None or isinstance(result.flow, Flow)
    if result.flow is None and not result.errors:
        # A module checked on its own compiles to no flow, without error.
        assert getattr(result, "module", None), "no flow, no module and no error"
    for d in result.diagnostics:
        assert CODE.match(d.code), d
        assert d.severity in ("error", "warning"), d
        assert d.message and d.message.strip(), d
        source = result.sources.get(d.path)
        if source is None and d.path == main:
            source = main_text
        rendered = render(d, source)
        assert rendered.startswith(d.path), rendered
        json.dumps(d.as_json())
        if d.span is None:
            continue
        assert d.span.column >= 1, (d, repr(source))
        if source is None:
            continue
        assert 1 <= d.span.line <= _line_count(source) + 1, (d, _line_count(source))
        lines = source.split("\n")
        if d.span.line <= len(lines) and lines[d.span.line - 1].strip():
            # The renderer shows the span's own line (lines end at "\n" only, as for the parser).
            shown = rendered.split("\n")[1].split(" | ", 1)[1]
            expected = lines[d.span.line - 1].expandtabs(8)
            assert shown.rstrip("\r") == expected.rstrip("\r"), (d, rendered)


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_compile_file_never_raises_on_mutated_text(data: st.DataObject) -> None:
    path, text = _mutated_text(data)
    result = compile_file(path, text=text)
    _check_result(result, path, text)


def _mutated_bytes(data: st.DataObject) -> bytes:
    _, text = _mutated_text(data) if data.draw(st.booleans()) else (None, SAMPLE)
    raw = text.encode("utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        junk = data.draw(
            st.binary(min_size=1, max_size=6)
            | st.sampled_from(
                [b"\x00", b"\xff", b"\xc3", b"\xe2\x80", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\r"]
            )
        )
        raw = raw[:at] + junk + raw[at:]
    return raw


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_compile_and_load_never_raise_on_mutated_bytes(data: st.DataObject) -> None:
    raw = _mutated_bytes(data)
    with tempfile.TemporaryDirectory(prefix="ivrflow-mut-") as tmp:
        path = Path(tmp) / "mutated.ivr"
        path.write_bytes(raw)
        result = compile_file(path)
        text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
        _check_result(result, display_path(path), text)
        try:
            flow = load(path)
        except FlowError as err:
            assert err.diagnostics
        else:
            assert isinstance(flow, Flow)


@pytest.mark.parametrize("path,text", EXAMPLES, ids=[Path(p).name for p, _ in EXAMPLES])
def test_unmutated_examples_compile_or_report(path: str, text: str) -> None:
    """The starting points themselves: never a crash, positions in range."""
    _check_result(compile_file(path, text=text), path, text)


def test_load_raises_only_flow_error_on_garbage(tmp_path: Path) -> None:
    for name, raw in {
        "nul.ivr": b"flow x\n\x00\n",
        "latin1.ivr": "flow caf\xe9\n".encode("latin-1"),
        "empty.ivr": b"",
        "smart.ivr": "flow x\nstart:\n  say \u201chello\u201d\n".encode(),
        "long.ivr": b"flow x\nstart:\n  say " + b"a" * 200_000 + b"\n",
        "module.ivr": b'module shared "Shared"\nvar x = 1\n',
    }.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(FlowError) as info:
            load(p)
        assert info.value.diagnostics, name
        assert str(info.value).strip(), name
    assert ivrflow.FlowError is FlowError


def _single_deletions(text: str) -> list[tuple[str, str]]:
    """The sample with one whitespace-separated token, or one line, removed — every one."""
    out = []
    tokens = re.split(r"(\s+)", text)
    for k, tok in enumerate(tokens):
        if tok and not tok.isspace():
            out.append((f"token {k} {tok!r}", "".join(tokens[:k] + tokens[k + 1 :])))
    lines = _lines(text)
    for i in range(len(lines)):
        out.append((f"line {i + 1}", _join(lines[:i] + lines[i + 1 :])))
    return out


def test_deleting_any_single_token_or_line_of_the_sample() -> None:
    """A deterministic sweep: each deletion alone, so a crash names its culprit."""
    path = str(FLOWS / "__sample__.ivr")
    failures = []
    for what, text in _single_deletions(SAMPLE):
        try:
            _check_result(compile_file(path, text=text), path, text)
        except Exception as exc:  # noqa: BLE001 - collect every failure, report them together
            failures.append(f"delete {what}: {type(exc).__name__}: {exc}"[:300])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "target",
    ["common/\x00hours.ivr", "", "/", "..", ".", "x" * 5000, "nonexistent/../../x.ivr", "a\tb"],
    ids=["nul", "empty", "root", "dotdot", "dot", "too-long", "escapes", "tab"],
)
@pytest.mark.parametrize("kind", ["use", "list"])
def test_hostile_use_and_list_paths(kind: str, target: str) -> None:
    """Paths named inside a flow come from its text: they may hold anything (via text=)."""
    line = f'use "{target}"' if kind == "use" else f'list callers from "{target}"'
    text = f"flow hostile\n{line}\nstart:\n  hangup\n"
    path = str(FLOWS / "__hostile__.ivr")
    result = compile_file(path, text=text)
    _check_result(result, path, text)
    assert [d.code for d in result.errors] in (["E001"], ["E024"]), result.diagnostics
    assert result.errors[0].span is not None and result.errors[0].span.line == 2
