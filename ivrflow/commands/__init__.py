"""One module per `ivrflow` sub-command.

Each module has `NAME`, `HELP`, `DESCRIPTION`, `add_arguments(parser)` and
`run(args) -> int`, and imports its heavy dependencies inside `run`, so the
command line starts fast whatever the sub-command.
"""

from __future__ import annotations

from types import ModuleType

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# name → one-line help, so `ivrflow --help` lists every command without importing any.
COMMANDS = {
    "check": "compile flows and report every problem",
    "simulate": "call a flow from the terminal (or from a script of caller inputs)",
    "test": "run YAML scenario tests, with coverage",
    "explore": "enumerate every path through a flow",
    "graph": "draw a flow as Mermaid, DOT, SVG or PNG",
    "serve": "run flows behind telephony: a FastAGI server for Asterisk, or a webhook",
    "fuzz": "call a flow with random callers and check that every call ends cleanly",
    "report": "contact-center KPIs from call records (tables, JSON, CSV, HTML)",
    "traffic": "predict what a flow does to the contact center: IVR time, queues, ASA, SL",
    "recover": "write the records of calls a crashed server left unfinished",
}


def load(name: str) -> ModuleType | None:
    """The sub-command's module, or None while it does not exist yet."""
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        return None


def count(n: int, noun: str) -> str:
    """'1 state', '3 states'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "count", "load"]
