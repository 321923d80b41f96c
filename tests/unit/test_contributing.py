"""CONTRIBUTING.md's recipes and docs/architecture.md name real things: every file path
they quote exists, and every table or function they name in code quotes is defined in
ivrflow/ — so a recipe cannot send someone to a module that was renamed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["CONTRIBUTING.md", "docs/architecture.md"]
QUOTED = re.compile(r"`([^`\s]+)`")
PATH = re.compile(r"^(?:[\w.-]+/)+[\w.-]*$|^[\w-]+\.(?:py|md|lark|toml|yaml)$")
STAGES = ("lang", "model", "compiler", "runtime", "host", "tools", "insight", "traffic", "cli")


def quoted(doc: str) -> list[str]:
    return QUOTED.findall((ROOT / doc).read_text(encoding="utf-8"))


def resolve(path: str) -> Path:
    """A path as the docs write it: from the repository root, or inside ivrflow/."""
    for base in (ROOT, ROOT / "ivrflow"):
        if (base / path).exists():
            return base / path
    return ROOT / path


@pytest.mark.parametrize("doc", DOCS)
def test_every_quoted_path_exists(doc: str) -> None:
    paths = [q for q in quoted(doc) if PATH.match(q) and not q.startswith("-")]
    assert len(paths) > 5
    assert [p for p in paths if not resolve(p).exists()] == []


@pytest.mark.parametrize("doc", DOCS)
def test_every_quoted_module_attribute_is_defined(doc: str) -> None:
    # `model.choice_label`, `lang.sources.display_path`, `host.perform`: import and look up
    import importlib

    missing = []
    for q in quoted(doc):
        head, _, _ = q.partition(".")
        if head not in STAGES or "/" in q or not re.fullmatch(r"[\w.]+", q):
            continue
        parts = q.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: object = importlib.import_module("ivrflow." + ".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            try:
                for name in parts[cut:]:
                    obj = getattr(obj, name)
            except AttributeError:
                missing.append(q)
            break
        else:
            missing.append(q)
    assert missing == []


def test_every_table_a_recipe_names_is_defined() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "ivrflow").rglob("*.py"))
    names = {q for q in quoted("CONTRIBUTING.md") if re.fullmatch(r"_?[A-Z][A-Z_]+", q)}
    assert len(names) >= 5
    assert [n for n in sorted(names) if not re.search(rf"^{n}\b.*[=:]", source, re.M)] == []
