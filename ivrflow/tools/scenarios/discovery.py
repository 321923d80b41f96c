"""Which scenario files a command-line argument names."""

from __future__ import annotations

from pathlib import Path

_SKIP_DIRS = frozenset({"node_modules", "__pycache__"})


def find(path: str | Path) -> list[str]:
    """Scenario files for a command-line argument: the file itself, or, for a
    directory, every *.yaml below it — except that a directory holding .ivr
    files contributes its tests/scenarios/ only (not its fixtures or lists)."""
    p = Path(path)
    if not p.is_dir():
        return [str(p)]
    found: list[Path] = []

    def visit(d: Path) -> None:
        entries = sorted(d.iterdir())
        if any(e.suffix == ".ivr" and e.is_file() for e in entries):
            scen = d / "tests" / "scenarios"
            if scen.is_dir():
                found.extend(sorted(x for x in scen.rglob("*") if _is_yaml(x)))
            return
        for e in entries:
            if e.is_dir():
                if not e.name.startswith(".") and e.name not in _SKIP_DIRS:
                    visit(e)
            elif _is_yaml(e):
                found.append(e)

    visit(p)
    return [str(f) for f in found]


def _is_yaml(p: Path) -> bool:
    return p.suffix in (".yaml", ".yml") and p.is_file()


__all__ = ["find"]
