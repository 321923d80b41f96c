"""ivrflow: IVR / voicebot call flows you can read, diff, test and run anywhere."""

from __future__ import annotations

from .compiler import Result, compile_file, load
from .errors import (
    Diagnostic,
    FlowError,
    FlowSyntaxError,
    FlowValidationError,
    IvrflowError,
    IvrflowRuntimeError,
)
from .model import Flow

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Flow",
    "FlowError",
    "FlowSyntaxError",
    "FlowValidationError",
    "IvrflowError",
    "IvrflowRuntimeError",
    "Result",
    "__version__",
    "compile_file",
    "load",
]
