"""ivrflow: IVR / voicebot call flows you can read, diff, test and run anywhere.

The public API. The stages live in sub-packages (lang → model → compiler | runtime → host →
insight → tools | traffic → cli; docs/architecture.md); these names are the ones to use:

    flow = ivrflow.load("flows/billing.ivr")          # compile, or raise FlowError
    session = ivrflow.Session(flow, call_id="c1", ani=None, dnis=None, at=0.0)
    call = ivrflow.testing.Call(flow)                  # a caller on a virtual clock

`Session`, `Engine`, `Listener`, `events`, `actions` and `testing` are imported on first use,
so `import ivrflow` (and `ivrflow check`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .compiler import Result, compile_file, load
from .errors import (
    Diagnostic,
    FlowError,
    FlowSyntaxError,
    FlowValidationError,
    IvrflowError,
    IvrflowRuntimeError,
    LookupFailure,
)
from .model import Flow

if TYPE_CHECKING:
    from .host.engine import Engine
    from .runtime import actions, events
    from .runtime.record import Listener
    from .runtime.session import Session
    from .tools import testing

__version__ = "0.1.0"

# name → (module, attribute or None for the module itself)
_LAZY = {
    "Session": ("ivrflow.runtime.session", "Session"),
    "Engine": ("ivrflow.host.engine", "Engine"),
    "Listener": ("ivrflow.runtime.record", "Listener"),
    "events": ("ivrflow.runtime.events", None),
    "actions": ("ivrflow.runtime.actions", None),
    "testing": ("ivrflow.tools.testing", None),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'ivrflow' has no attribute '{name}'") from None
    value = importlib.import_module(module)
    return value if attribute is None else getattr(value, attribute)


__all__ = [
    "Diagnostic",
    "Engine",
    "Flow",
    "FlowError",
    "FlowSyntaxError",
    "FlowValidationError",
    "IvrflowError",
    "IvrflowRuntimeError",
    "Listener",
    "LookupFailure",
    "Result",
    "Session",
    "__version__",
    "actions",
    "compile_file",
    "events",
    "load",
    "testing",
]
