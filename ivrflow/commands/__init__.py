"""One module per `ivrflow` sub-command.

Each module has `NAME`, `HELP`, `DESCRIPTION`, `add_arguments(parser)` and
`run(args) -> int`, and imports its heavy dependencies inside `run`, so the
command line starts fast whatever the sub-command.
"""

from __future__ import annotations

from types import ModuleType

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


COMMANDS = ("check", "simulate", "test", "explore", "graph")


def all_commands() -> list[ModuleType]:
    """The sub-command modules that exist (each is optional until it lands)."""
    import importlib

    found = []
    for name in COMMANDS:
        try:
            found.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return found


def count(n: int, noun: str) -> str:
    """'1 state', '3 states'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "all_commands", "count"]
