"""The compiler: files → syntax trees → one validated, immutable `Flow`.

It collects every diagnostic it can (syntax errors per declaration, then name,
value and whole-flow checks) and reports them together.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from .. import model
from ..errors import Diagnostic, FlowError, FlowSyntaxError, FlowValidationError, sort_key
from ..lang import ast
from ..lang.parser import parse_tree
from ..lang.sources import SourceError, check_reference, display_path, read_text
from . import analysis, declarations
from .context import Context, Declared, Symbols
from .expressions import compile_expr
from .states import StateCompiler

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Result:
    """What `compile_file` found: the flow (None on errors) and every diagnostic."""

    flow: model.Flow | None
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, str]
    module: str | None = None  # the name, when the file is a module checked on its own

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")


@dataclass
class _Loaded:
    modules: list[tuple[ast.Module, Path]]
    sources: dict[str, str]
    diagnostics: list[Diagnostic]
    syntax_failed: bool = False


def _load(path: Path, text: str | None) -> _Loaded:
    """Parse the main file and, depth first, every file it uses (each once)."""
    loaded = _Loaded([], {}, [])
    seen: set[Path] = set()

    def visit(
        file: Path, shown: str, text: str | None, at: tuple[str, ast.Span] | None, is_main: bool
    ) -> None:
        try:
            key = file.resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: read_text says
            key = file.absolute()
        if key in seen:
            return
        seen.add(key)
        try:
            if text is None:
                text = read_text(file, shown, at=at)
            loaded.sources[shown] = text
            module = parse_tree(text, shown)
        except SourceError as err:
            loaded.diagnostics.append(err.diagnostic)
            loaded.syntax_failed = True
            return
        except FlowSyntaxError as err:
            loaded.diagnostics.extend(err.diagnostics)
            loaded.syntax_failed = True
            return
        if not is_main and module.header is not None and module.header.kind == "flow":
            assert at is not None
            loaded.diagnostics.append(
                Diagnostic(
                    "E022",
                    "error",
                    f"'{shown}' is a flow, not a module",
                    at[0],
                    at[1],
                    f"a flow cannot be used from another; make '{shown}' start with: module name",
                )
            )
            return
        loaded.modules.append((module, file))
        for item in module.items:
            if isinstance(item, ast.Use):
                problem = check_reference(item.path, (".ivr",))
                if problem:
                    loaded.diagnostics.append(
                        Diagnostic("E024", "error", problem[0], shown, item.path_span, problem[1])
                    )
                    loaded.syntax_failed = True
                    continue
                target = file.parent / item.path
                visit(target, display_path(target), None, (shown, item.path_span), False)

    visit(path, display_path(path) if text is None else str(path), text, None, True)
    return loaded


def _declare(
    ctx: Context,
    table: dict[str, Declared[T]],
    name: str,
    node: T,
    span: ast.Span,
    path: str,
    what: str,
) -> None:
    first = table.get(name)
    if first is not None:
        first_span = getattr(first.node, "name_span", None)
        where = f"{first.path}:{first_span.line}" if first_span else first.path
        ctx.error(
            "E101", f"{what} '{name}' is defined twice", span, f"first defined at {where}", path
        )
        return
    table[name] = Declared(node, path)


def _symbols(ctx: Context, modules: Sequence[tuple[ast.Module, Path]]) -> Symbols:
    sym = ctx.symbols
    for module, _ in modules:
        for item in module.items:
            p = module.path
            if isinstance(item, ast.StateDecl):
                if item.name in model.SPECIAL_TARGETS:
                    ctx.error(
                        "E137",
                        f"'{item.name}' is a reserved word, not a state name",
                        item.name_span,
                        "pick another name",
                        p,
                    )
                    continue
                _declare(ctx, sym.states, item.name, item, item.name_span, p, "state")
                if item.kind in ("capture", "record", "menu"):
                    into = next(
                        (
                            s
                            for s in item.body
                            if isinstance(s, ast.Setting)
                            and s.name == "into"
                            and s.values
                            and isinstance(s.values[0], ast.Ref)
                        ),
                        None,
                    )
                    if into and isinstance(into.values[0], ast.Ref):
                        sym.assigned.add(into.values[0].path[0])
                    elif item.kind != "menu":  # a menu binds its keys only when told `into`
                        sym.assigned.add(item.name)
                if item.call is not None and item.call.result:
                    sym.assigned.add(item.call.result)
                _collect_sets(sym, item.body)
            elif isinstance(item, ast.QueueDecl):
                _declare(ctx, sym.queues, item.name, item, item.name_span, p, "queue")
            elif isinstance(item, ast.ListDecl):
                _declare(ctx, sym.lists, item.name, item, item.name_span, p, "list")
            elif isinstance(item, ast.HoursDecl):
                _declare(ctx, sym.hours, item.name, item, item.name_span, p, "hours")
            elif isinstance(item, ast.FunctionDecl):
                _declare(ctx, sym.functions, item.name, item, item.name_span, p, "function")
            elif isinstance(item, ast.PromptDecl):
                _declare(ctx, sym.prompts, item.name, item, item.name_span, p, "prompt")
            elif isinstance(item, ast.VarDecl):
                _declare(ctx, sym.variables, item.name, item, item.name_span, p, "variable")
    return sym


def _collect_sets(sym: Symbols, lines: Sequence[ast.Line]) -> None:
    for line in lines:
        if isinstance(line, ast.Set):
            sym.assigned.add(line.name)
        elif isinstance(line, ast.If):
            for b in line.branches:
                _collect_sets(sym, b.body)
        elif isinstance(line, ast.Switch):
            for c in line.cases:
                _collect_sets(sym, c.body)
        elif isinstance(line, ast.Split):
            for br in line.branches:
                _collect_sets(sym, br.body)
        elif isinstance(line, ast.Branch):
            _collect_sets(sym, line.body)


def _content_hash(
    sources: Mapping[str, str], lists: Mapping[str, model.NumberList], main: Path
) -> str:
    """What the flow is, not where it was read from: files are named relative to the main
    file, so workers that keep the flows in different places agree (snapshots, records)."""
    h = hashlib.sha256()
    base = os.path.abspath(main.parent)
    named = {
        Path(os.path.relpath(os.path.abspath(p), base)).as_posix(): t for p, t in sources.items()
    }
    for path in sorted(named):
        h.update(path.encode() + b"\0" + named[path].encode() + b"\0")
    for name in sorted(lists):
        h.update(name.encode() + b"\0" + "\n".join(sorted(lists[name].numbers)).encode())
    return h.hexdigest()


def _frozen(d: dict[str, T]) -> Mapping[str, T]:
    return MappingProxyType(d)


def compile_file(path: str | Path, text: str | None = None) -> Result:
    """Compile a flow file (or `text` as if it were that file). Never raises for bad input."""
    main = Path(path)
    loaded = _load(main, text)
    if loaded.syntax_failed or not loaded.modules:
        diags = tuple(sorted(loaded.diagnostics, key=sort_key))
        return Result(None, diags, MappingProxyType(loaded.sources))
    main_module, _ = loaded.modules[0]
    ctx = Context(Symbols(), list(loaded.diagnostics), main_module.path)
    header = main_module.header
    is_module = header is not None and header.kind == "module"
    if header is None:
        first = main_module.items[0].span if main_module.items else ast.Span(1, 1, 1, 2)
        ctx.error(
            "E132",
            "the file has no flow line",
            first,
            'start it with: flow billing "Billing hotline" (or: module name, for a shared file)',
        )
    sym = _symbols(ctx, loaded.modules)
    settings, header_settings = declarations.header_settings(ctx, header)
    ctx.country = settings.country
    ctx.known_variables = (
        frozenset(model.BUILTIN_VARIABLES) | frozenset(sym.variables) | frozenset(sym.assigned)
    )

    queues: dict[str, model.Queue] = {}
    lists: dict[str, model.NumberList] = {}
    hours: dict[str, model.Hours] = {}
    functions: dict[str, model.Function] = {}
    prompts: dict[str, model.Prompt] = {}
    variables: dict[str, model.Expression] = {}
    states: dict[str, model.State] = {}
    compiler = StateCompiler(ctx, settings, queues)
    for module, file in loaded.modules:
        ctx.path = module.path
        for item in module.items:
            if isinstance(item, ast.QueueDecl) and sym.queues[item.name].node is item:
                queues[item.name] = declarations.queue(ctx, sym.queues[item.name])
            elif isinstance(item, ast.ListDecl) and sym.lists[item.name].node is item:
                lists[item.name] = declarations.number_list(ctx, sym.lists[item.name], file.parent)
            elif isinstance(item, ast.HoursDecl) and sym.hours[item.name].node is item:
                hours[item.name] = declarations.hours(ctx, sym.hours[item.name], settings.timezone)
            elif isinstance(item, ast.FunctionDecl) and sym.functions[item.name].node is item:
                functions[item.name] = declarations.function(ctx, sym.functions[item.name])
            elif isinstance(item, ast.PromptDecl) and sym.prompts[item.name].node is item:
                prompts[item.name] = declarations.prompt(
                    ctx, sym.prompts[item.name], compiler.check_template
                )
            elif isinstance(item, ast.VarDecl) and sym.variables[item.name].node is item:
                variables[item.name] = compile_expr(ctx, item.expr)
    for module, _ in loaded.modules:
        ctx.path = module.path
        for item in module.items:
            if (
                isinstance(item, ast.StateDecl)
                and sym.states.get(item.name, None)
                and sym.states[item.name].node is item
            ):
                states[item.name] = compiler.state(item)
    ctx.path = main_module.path
    decls = {name: d.node for name, d in sym.states.items()}
    start = None if is_module else _start(ctx, main_module, header, states)
    analysis.check(ctx, states, start, main_module.path, decls, settings.language)
    secure = frozenset(
        s.variable for s in states.values() if isinstance(s, model.Capture) and s.secure
    )
    if any(d.severity == "error" for d in ctx.diagnostics):
        # Unreachable states and endless loops are noise next to a broken graph.
        ctx.diagnostics = [d for d in ctx.diagnostics if d.code not in ("W201", "W202")]
    diags = tuple(sorted(ctx.diagnostics, key=sort_key))
    sources = MappingProxyType({**loaded.sources, **ctx.sources})
    if is_module:
        return Result(None, diags, sources, header.name if header else None)
    if any(d.severity == "error" for d in diags) or header is None or start is None:
        return Result(None, diags, sources)
    flow = model.Flow(
        name=header.name,
        title=header.title,
        description=header_settings.string("description"),
        version=header_settings.string("version"),
        path=main_module.path,
        settings=settings,
        variables=_frozen(variables),
        states=_frozen(states),
        start=start,
        queues=_frozen(queues),
        lists=_frozen(lists),
        hours=_frozen(hours),
        functions=_frozen(functions),
        prompts=_frozen(prompts),
        secure_variables=secure,
        sources=tuple(loaded.sources),
        content_hash=_content_hash(loaded.sources, lists, main),
    )
    return Result(flow, diags, sources)


def _start(
    ctx: Context, main: ast.Module, header: ast.Header | None, states: Mapping[str, model.State]
) -> str | None:
    if "start" in states:
        return "start"
    own = [i for i in main.items if isinstance(i, ast.StateDecl)]
    if header is not None and header.kind == "flow":
        ctx.error(
            "E131",
            "the flow has no start state",
            header.name_span,
            "add a state named start, e.g.  start:  then  -> main_menu"
            + (f"  (first state here: '{own[0].name}')" if own else ""),
        )
    return None


def load(path: str | Path, *, strict: bool = False) -> model.Flow:
    """Compile a flow or raise `FlowError` with every diagnostic (warnings too when strict)."""
    result = compile_file(path)
    if result.module is not None and not result.errors:
        raise FlowValidationError(
            [
                Diagnostic(
                    "E132",
                    "error",
                    f"'{path}' is the module '{result.module}', not a flow",
                    str(path),
                    None,
                    'load a flow that uses it: use "…"',
                )
            ],
            dict(result.sources),
        )
    failing = result.diagnostics if strict else result.errors
    if result.flow is None or failing:
        syntax = any(d.code < "E100" for d in result.errors)
        cls = FlowSyntaxError if syntax else FlowValidationError
        raise cls(result.diagnostics, dict(result.sources))
    return result.flow


__all__ = ["FlowError", "Result", "compile_file", "load"]
