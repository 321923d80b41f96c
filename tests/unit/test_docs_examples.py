"""Every example in docs/language.md and docs/diagnostics.md compiles as the docs say.

Fenced blocks, by their tag (the first word after the backticks):

- ```ivr                      a complete flow; it must compile with no errors.
- ```ivr-error [expect=E104]  a deliberately broken flow; it must give at least one error
                              (and, with expect=, that code among them).
- ```ivr-module file=PATH     a shared module; written to PATH so flows can `use` it, and
                              compiled alone it may only complain that it is not a flow (E132).
- ```csv file=PATH, ```yaml file=PATH   data files (number lists) written to PATH.

Files are written into one temporary folder and every example is compiled as a file of that
folder, so `use "common/office.ivr"` and `list vip from "lists/vip.csv"` resolve there.

A second group of tests makes sure the docs keep up with the language: every keyword of the
grammar, every setting and branch word, validator, filter, built-in function and variable shows
up in an example, and every diagnostic code the compiler can emit is in docs/diagnostics.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivrflow import Result, compile_file
from ivrflow.errors import render

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LANGUAGE = DOCS / "language.md"
DIAGNOSTICS = DOCS / "diagnostics.md"
GRAMMAR = ROOT / "grammar" / "ivrflow.lark"

FLOW_TAGS = ("ivr", "ivr-error", "ivr-module")
DATA_TAGS = ("csv", "yaml")
FENCE = re.compile(r"^```([\w-]*)(.*)$")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


@dataclass
class Block:
    doc: str  # file name, e.g. language.md
    heading: str
    index: int  # 1-based, over all blocks of the file
    line: int  # line of the opening fence
    tag: str
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "top"
        return f"{self.doc}:{slug}#{self.index}"


def parse_blocks(path: Path) -> list[Block]:
    """Fenced blocks of a markdown file, with the heading they sit under."""
    blocks: list[Block] = []
    heading = ""
    current: Block | None = None
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if current is not None:
            if line.strip() == "```":
                current.text = "\n".join(lines) + "\n"
                blocks.append(current)
                current, lines = None, []
            else:
                lines.append(line)
            continue
        fence = FENCE.match(line)
        if fence:
            options = dict(opt.split("=", 1) for opt in fence.group(2).split() if "=" in opt)
            current = Block(path.name, heading, len(blocks) + 1, number, fence.group(1), options)
            continue
        title = HEADING.match(line)
        if title:
            heading = title.group(1)
    assert current is None, f"{path.name}:{current.line}: unclosed code fence"
    return blocks


def all_blocks() -> list[Block]:
    return [b for doc in (LANGUAGE, DIAGNOSTICS) for b in parse_blocks(doc)]


def flow_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.tag in FLOW_TAGS]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding every module and data file the docs define."""
    root = tmp_path_factory.mktemp("docs")
    for block in all_blocks():
        if block.tag in DATA_TAGS or block.tag == "ivr-module":
            name = block.options.get("file")
            if name is None:
                continue
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            assert not target.exists(), f"{block.id}: two blocks write {name}"
            target.write_text(block.text, encoding="utf-8")
    return root


def compile_block(block: Block, workdir: Path) -> Result:
    name = block.options.get("file") or f"{block.doc}#{block.index}.ivr"
    return compile_file(workdir / name, text=block.text)


def first_word(text: str) -> str:
    """The first word of the first line that is not blank or a comment."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.split()[0]
    return ""


def shown(block: Block, result: Result) -> str:
    rendered = "\n".join(render(d, result.sources.get(d.path)) for d in result.diagnostics)
    return (
        f"{block.doc} line {block.line} ({block.id}):\n{block.text}\n--- diagnostics:\n{rendered}"
    )


@pytest.mark.parametrize("block", flow_blocks(), ids=lambda b: b.id)
def test_example(block: Block, workdir: Path) -> None:
    result = compile_block(block, workdir)
    codes = [d.code for d in result.errors]
    if block.tag == "ivr":
        word = first_word(block.text)
        assert word == "flow", f"{block.id}: a ```ivr block is a whole flow, not {word!r}"
        assert not result.errors, shown(block, result)
        assert result.flow is not None, shown(block, result)
    elif block.tag == "ivr-module":
        word = first_word(block.text)
        assert word == "module", f"{block.id}: a ```ivr-module block starts with module"
        assert set(codes) <= {"E132"}, shown(block, result)
    else:
        assert result.errors, "expected an error\n" + shown(block, result)
        expected = block.options.get("expect")
        if expected:
            assert expected in codes, f"expected {expected}\n" + shown(block, result)


# ---------------------------------------------------------------- the docs keep up


TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_-]*')
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def example_words(in_strings: bool = False) -> set[str]:
    """Words the examples use as code (and, with in_strings, inside texts and templates).

    Comments never count: a word only mentioned in a comment is not an example of it.
    """
    text = "\n".join(b.text for b in parse_blocks(LANGUAGE) if b.tag in ("ivr", "ivr-module"))
    words: set[str] = set()
    for token in TOKEN.findall(text):
        if token.startswith("#"):
            continue
        if token.startswith('"'):
            if in_strings:
                words |= set(WORD.findall(token))
            continue
        words.add(token)
        words |= set(WORD.findall(token))
    # Two-word branch labels (`noinput exhausted`), as written at the start of a line.
    words |= {" ".join(m) for m in re.findall(r"^\s*([a-z]+) ([a-z]+)\s*(?:->|:)", text, re.M)}
    return words


def grammar_keywords() -> set[str]:
    """Keyword terminals such as `MENU.2: /menu\\b/`."""
    pattern = re.compile(r"^[A-Z_]+\.\d+:\s*/([a-z-]+)\\b/", re.MULTILINE)
    return set(pattern.findall(GRAMMAR.read_text(encoding="utf-8")))


def test_grammar_keywords_were_found() -> None:
    assert {"menu", "capture", "lookup", "transfer", "callback", "split", "switch"} <= (
        grammar_keywords()
    )


@pytest.mark.parametrize("word", sorted(grammar_keywords()))
def test_every_keyword_has_an_example(word: str) -> None:
    assert word in example_words(), f"no ```ivr example in docs/language.md uses '{word}'"


def vocabulary() -> list[tuple[str, bool]]:
    """(word, may it appear inside a text): settings, branch words, validators, filters,
    built-in functions, tests, constants, variables and special targets."""
    from ivrflow import model
    from ivrflow.compiler import declarations, expressions, vocabulary
    from ivrflow.model import sayas, validators

    code_words: set[str] = set()
    for table in (
        declarations.HEADER_SETTINGS,
        declarations.QUEUE_SETTINGS,
        vocabulary.CAPTURE_SETTINGS,
        vocabulary.LOOKUP_SETTINGS,
        vocabulary.TRANSFER_SETTINGS,
        vocabulary.CALLBACK_SETTINGS,
        vocabulary.MENU_WORDS,
        vocabulary.CAPTURE_WORDS,
        vocabulary.LOOKUP_WORDS,
        vocabulary.TRANSFER_WORDS,
        vocabulary.CALLBACK_WORDS,
        validators.BUILTIN,
        expressions.BUILTIN_FUNCTIONS,
        expressions.PREDICATES,
        expressions.CONSTANTS,
        model.SPECIAL_TARGETS,
    ):
        code_words |= set(table)
    # Filters and variables are often shown inside a prompt template: "{{ ewt | duration }}".
    template_words = set(sayas.FILTERS) | set(model.BUILTIN_VARIABLES)
    return sorted({(w, False) for w in code_words} | {(w, True) for w in template_words})


@pytest.mark.parametrize(("word", "in_strings"), vocabulary(), ids=lambda x: str(x))
def test_every_word_of_the_language_has_an_example(word: str, in_strings: bool) -> None:
    assert word in example_words(in_strings), f"no ```ivr example in docs/language.md uses '{word}'"


SAYAS_ROW = re.compile(r"^\| `(\w+)(?:\((.*?)\))?` \| `(.+?)`.*? \| `(.*?)` \| `(.*?)` \|$", re.M)


def sayas_rows() -> list[tuple[str, str, str, str, str]]:
    section = LANGUAGE.read_text("utf-8").split("### Say-as filters", 1)[1].split("\n## ", 1)[0]
    return SAYAS_ROW.findall(section)


def test_sayas_table_was_found() -> None:
    from ivrflow.model import sayas

    assert {row[0] for row in sayas_rows()} == set(sayas.FILTERS)


@pytest.mark.parametrize("row", sayas_rows(), ids=lambda r: f"{r[0]}({r[1]}) {r[2]}")
def test_sayas_table_matches_the_filters(row: tuple[str, str, str, str, str]) -> None:
    """The en-US and pt-BR columns are what a prompt really says."""
    from ivrflow.model import templates

    name, args, value, en_us, pt_br = row
    call = f"{name}({args})" if args else name
    template = "{{ value | " + call + " }}"
    parsed = ast.literal_eval(value)
    assert templates.render(template, {"value": parsed, "language": "en-US"}) == en_us
    assert templates.render(template, {"value": parsed, "language": "pt-BR"}) == pt_br


def diagnostic_codes() -> set[str]:
    codes: set[str] = set()
    for source in (ROOT / "ivrflow").rglob("*.py"):
        codes |= set(re.findall(r'"([EW]\d{3})"', source.read_text(encoding="utf-8")))
    return codes


@pytest.mark.parametrize("code", sorted(diagnostic_codes()))
def test_every_diagnostic_code_is_documented(code: str) -> None:
    table = re.findall(r"^\|\s*`?([EW]\d{3})`?\s*\|", DIAGNOSTICS.read_text("utf-8"), re.M)
    assert code in table, f"docs/diagnostics.md has no table row for {code}"
