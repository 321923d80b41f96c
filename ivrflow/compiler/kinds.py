"""What a state kind's compiling function is handed: the state taken apart (`StateParts`)
and what it may use (`StateEnv`). One function per kind, `(env, parts) -> model.State`;
states.py holds the table from the syntax tree's kind to that function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .. import model
from ..lang import ast
from .context import Context
from .settings import Settings
from .statements import StatementCompiler


@dataclass(frozen=True, slots=True)
class StateParts:
    """A state's body sorted into its statements, settings and branches, in source order."""

    decl: ast.StateDecl
    statements: list[ast.Statement]
    settings: list[ast.Setting]
    branches: list[ast.Branch]

    @classmethod
    def of(cls, decl: ast.StateDecl) -> StateParts:
        return cls(
            decl,
            [x for x in decl.body if not isinstance(x, ast.Setting | ast.Branch)],
            [x for x in decl.body if isinstance(x, ast.Setting)],
            [x for x in decl.body if isinstance(x, ast.Branch)],
        )


@dataclass(frozen=True, slots=True)
class StateEnv:
    """The flow-wide things a state compiles against."""

    ctx: Context
    defaults: model.FlowSettings  # the header's input settings are each state's defaults
    queues: Mapping[str, model.Queue]  # compiled before the states
    statements: StatementCompiler

    def queue(self, s: Settings) -> str | None:
        """The `queue` setting, when it names a declared queue (transfers and callbacks)."""
        named = s.name("queue")
        if named is None:
            return None
        name, span = named
        if name not in self.ctx.symbols.queues:
            self.ctx.unknown(
                "E105", "queue", name, span, self.ctx.symbols.queues, f"declare it: queue {name}"
            )
            return None
        return name


KindCompiler = Callable[[StateEnv, StateParts], model.State]

__all__ = ["KindCompiler", "StateEnv", "StateParts"]
