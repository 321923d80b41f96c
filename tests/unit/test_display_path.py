"""`lang.sources.display_path`: one rule for the paths in messages, for the compiler (a path
outside the working directory as the user spelled it) and the scenario tools (as an absolute
path, since theirs are built by joining a scenario's folder and `../../flow.ivr`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivrflow.lang.sources import display_path


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "work/flows/tests/scenarios").mkdir(parents=True)
    (tmp_path / "work/flows/billing.ivr").write_text("flow billing\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/other.ivr").write_text("flow other\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


@pytest.mark.parametrize("absolute", [False, True])
def test_below_the_working_directory_it_is_relative_with_dots_folded(
    tree: Path, absolute: bool
) -> None:
    for given in (
        "flows/billing.ivr",
        "./flows/billing.ivr",
        "flows/tests/scenarios/../../billing.ivr",
        str(tree / "work/flows/billing.ivr"),
        "flows/missing/../nope.ivr",  # a file that does not exist is placed all the same
    ):
        expected = "flows/nope.ivr" if "nope" in given else "flows/billing.ivr"
        assert display_path(given, absolute=absolute) == expected
        assert display_path(Path(given), absolute=absolute) == expected


def test_elsewhere_it_is_as_given_or_absolute(tree: Path) -> None:
    joined = Path("flows/tests/scenarios/../../../../elsewhere/other.ivr")
    assert display_path(joined) == str(joined)
    assert display_path(joined, absolute=True) == str(tree.resolve() / "elsewhere/other.ivr")
    assert display_path("../elsewhere/other.ivr") == "../elsewhere/other.ivr"


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs symlinks")
def test_a_symlink_loop_is_shown_not_raised(tree: Path) -> None:
    Path("loop1.ivr").symlink_to("loop2.ivr")
    Path("loop2.ivr").symlink_to("loop1.ivr")
    assert display_path("loop1.ivr") in ("loop1.ivr", "loop2.ivr")
    assert display_path("loop1.ivr", absolute=True).endswith(("loop1.ivr", "loop2.ivr"))
