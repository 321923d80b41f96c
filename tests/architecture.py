"""The import rule of docs/architecture.md, as code: stages, the graph of imports, cycles.

A module's imports are read from its source (`ast`), every one of them: at the top, inside
functions and under `if TYPE_CHECKING:`. A lazy import still ties two modules together, and a
type-only one still says which stage knows about which.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

# Stages from the bottom up. A module may import its own stage and the ones below it; stages
# on one rank are siblings and never import each other (the compiler and the runtime both
# read the model; the tools and the traffic model both sit on insight and the host).
STAGES: tuple[tuple[str, ...], ...] = (
    ("ivrflow.errors",),
    ("ivrflow.lang",),
    ("ivrflow.model",),
    ("ivrflow.compiler", "ivrflow.runtime"),
    ("ivrflow.host",),
    ("ivrflow.insight",),
    ("ivrflow.tools", "ivrflow.traffic"),
    ("ivrflow",),  # the public API: ivrflow/__init__.py
    ("ivrflow.cli",),
    ("ivrflow.__main__",),
)

# Third-party packages that only one corner of the code may know about.
CONFINED: Mapping[str, tuple[str, ...]] = {
    "lark": ("ivrflow.lang.parser",),  # lark types never leave the parser
    "aiohttp": ("ivrflow.host.gateways",),
    "redis": ("ivrflow.host.gateways",),
    "prompt_toolkit": ("ivrflow.tools.simulator",),
    "psycopg": ("ivrflow.host.postgres",),
    "pocketsphinx": ("ivrflow.host.voice",),  # the voice extra
    "webrtcvad": ("ivrflow.host.voice",),
    "prometheus_client": ("ivrflow.host.metrics",),  # the `metrics` extra
    "holidays": ("ivrflow.model.calendars",),
    "phonenumbers": ("ivrflow.model.phone_library",),  # the `phone` extra
    "babel": (
        "ivrflow.model.locale_library",
    ),  # the `locales` extra  # the holiday calendars, read in one place
    "cryptography": ("ivrflow.runtime.sealing",),  # AES-GCM for secure values in snapshots
    "tqdm": ("ivrflow.cli.terminal",),  # the `cli` extra: progress bars
    "shtab": ("ivrflow.cli.completion",),  # the `cli` extra: shell completion
}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under `root` (the folder that holds `ivrflow/`)."""
    return {module_name(root, p): p for p in sorted((root / "ivrflow").rglob("*.py"))}


def _imports(name: str, path: Path, known: Mapping[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for each import in one file; third-party ones as they are."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield (sub if sub in known else source), node.lineno


def import_graph(root: Path) -> dict[str, list[tuple[str, int]]]:
    """module → [(imported module, line)], for the package's modules and the third-party
    packages they import (top-level name only for those)."""
    known = modules(root)
    graph: dict[str, list[tuple[str, int]]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, [])
        for target, line in _imports(name, path, known):
            if target.startswith("ivrflow"):
                edges.append((target, line))
            else:
                edges.append((target.partition(".")[0], line))
    return graph


def stage_of(module: str) -> tuple[int, str] | None:
    """(rank, stage) of a module of ours: the longest stage prefix that names it."""
    best: tuple[int, str] | None = None
    for rank, stages in enumerate(STAGES):
        for stage in stages:
            if (module == stage or module.startswith(stage + ".")) and (
                best is None or len(stage) > len(best[1])
            ):
                best = (rank, stage)
    return best


def violations(root: Path) -> list[str]:
    """Imports that go up a stage or sideways to a sibling, and confined packages used
    outside their corner: one line each, `file:line: what`."""
    problems = []
    graph = import_graph(root)
    paths = modules(root)
    for module, edges in graph.items():
        where = stage_of(module)
        file = paths[module].relative_to(root)
        if where is None:
            problems.append(f"{file}: module {module} is in no stage")
            continue
        for target, line in edges:
            if target.startswith("ivrflow"):
                there = stage_of(target)
                assert there is not None
                if there[1] == where[1]:
                    continue
                if there[0] >= where[0]:
                    kind = "a sibling stage" if there[0] == where[0] else "a later stage"
                    problems.append(
                        f"{file}:{line}: {module} ({where[1]}) imports {target}, "
                        f"{kind} ({there[1]})"
                    )
            elif target in CONFINED and not any(
                module == c or module.startswith(c + ".") for c in CONFINED[target]
            ):
                problems.append(
                    f"{file}:{line}: {module} imports {target}, "
                    f"which only {', '.join(CONFINED[target])} may use"
                )
    return problems


def cycles(root: Path) -> list[list[str]]:
    """Every group of our modules that import each other, directly or round a loop
    (strongly connected components of more than one module, or a module importing itself)."""
    graph = {
        m: sorted({t for t, _ in edges if t.startswith("ivrflow")})
        for m, edges in import_graph(root).items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:  # Tarjan's algorithm, iteratively
        nonlocal counter
        work = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph.get(node, ()):
                    found.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return sorted(found)
