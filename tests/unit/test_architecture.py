"""The layout rule (docs/architecture.md): imports go down the stages, and no module imports
itself round a loop. Each rule is shown failing on a planted import in a copy of the tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.architecture import STAGES, cycles, modules, stage_of, violations

ROOT = Path(__file__).resolve().parents[2]


def test_imports_go_down_the_stages() -> None:
    assert violations(ROOT) == []


def test_no_module_imports_itself_round_a_loop() -> None:
    assert cycles(ROOT) == []


def test_every_module_is_in_a_stage() -> None:
    unplaced = [m for m in modules(ROOT) if stage_of(m) is None]
    assert unplaced == []
    # and every stage is a real package or module, so a renamed folder cannot hide
    names = set(modules(ROOT))
    assert [s for rank in STAGES for s in rank if s not in names] == []


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "ivrflow", tmp_path / "ivrflow", symlinks=True)
    return tmp_path


def plant(root: Path, module: str, line: str) -> None:
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def test_a_backward_import_is_caught(tree: Path) -> None:
    plant(tree, "ivrflow.runtime.evaluate", "from ..compiler import load  # planted")
    plant(tree, "ivrflow.model.walk", "from ..tools import testing  # planted")
    found = violations(tree)
    assert len(found) == 2
    assert any(
        "ivrflow/runtime/evaluate.py:" in p
        and "imports ivrflow.compiler, a sibling stage (ivrflow.compiler)" in p
        for p in found
    )
    assert any(
        "ivrflow/model/walk.py:" in p and "imports ivrflow.tools.testing, a later stage" in p
        for p in found
    )


def test_a_lazy_or_type_only_import_counts_too(tree: Path) -> None:
    plant(tree, "ivrflow.lang.sources", "def f():\n    from ..host import engine  # planted")
    plant(
        tree,
        "ivrflow.model.flow",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..runtime.session import Session",
    )
    assert len(violations(tree)) == 2


def test_lark_stays_in_the_parser(tree: Path) -> None:
    plant(tree, "ivrflow.compiler.context", "import lark  # planted")
    (found,) = violations(tree)
    assert "ivrflow.compiler.context imports lark, which only ivrflow.lang.parser may use" in found


def test_a_cycle_is_caught(tree: Path) -> None:
    # walk imports flow; flow importing walk back closes a loop inside one stage
    plant(tree, "ivrflow.model.flow", "def f():\n    from . import walk  # planted")
    assert ["ivrflow.model.flow", "ivrflow.model.walk"] in cycles(tree)
