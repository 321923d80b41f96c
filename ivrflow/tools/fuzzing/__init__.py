"""Caller fuzzing: random callers against a flow, and the invariants every call must keep.

    from ivrflow.tools.fuzzing import fuzz_flow
    report = fuzz_flow("flows/billing.ivr", calls=1000, seed=7)
    assert report.ok, [str(v) for v in report.violations]

See docs/reliability.md for the strategies, the invariants and how to reproduce a
violation (`ivrflow fuzz`, `ivrflow fuzz --replay FILE`, `ivrflow test FILE`).
"""

from __future__ import annotations

from .invariants import INVARIANTS, SilenceBound, silence_bound
from .runner import FuzzReport, Violation, fuzz_flow, replay

__all__ = [
    "INVARIANTS",
    "FuzzReport",
    "SilenceBound",
    "Violation",
    "fuzz_flow",
    "replay",
    "silence_bound",
]
