"""The webhook's side of outbound callbacks (see `rest_dialer` for the request sequence).

- The outbound call's first voice request carries `cb` (the attempt) and `priority` in its
  URL: they become the session's `callback_attempt` and `callback_priority` variables, so the
  outbound flow can queue the customer with the request's priority, and the Engine's finish
  hook records the attempt when the call ends.
- With answering-machine detection, that request says `AnsweredBy`: a machine or a fax is
  hung up at once (no session, no call record) and the attempt recorded as `machine`.
- `POST /callback-status?cb=…` is the call's status callback: `CallStatus` (and `AnsweredBy`)
  at its end. It records the attempt unless the outbound call's end already did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..callback_lifecycle import parse_attempt_id
from ..callback_rules import Outcome
from ..callback_types import CallbackStoreError
from ..dispatcher import ATTEMPT_VARIABLE, lifecycle_of
from ..engine import Engine
from .rest_dialer import outcome_of_status

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("ivrflow.webhook")

PRIORITY_VARIABLE = "callback_priority"


def outbound_variables(query: Mapping[str, str]) -> dict[str, Any] | None:
    """The session variables of an outbound callback's first request, or None."""
    marker = query.get("cb")
    if not marker:
        return None
    try:
        parse_attempt_id(marker)
        priority = int(query.get("priority") or 0)
    except (CallbackStoreError, ValueError):
        return None
    return {ATTEMPT_VARIABLE: marker, PRIORITY_VARIABLE: priority}


def is_machine(form: Mapping[str, str]) -> bool:
    """`machine_start`, `machine_end_*` or `fax`; `human` and `unknown` (detection timed out)
    run the flow."""
    return form.get("AnsweredBy", "").startswith(("machine", "fax"))


async def record(engine: Engine, marker: str, outcome: Outcome, detail: str) -> bool:
    """Record an attempt's outcome in the Engine's callback store (once)."""
    store = lifecycle_of(engine.callbacks)
    if store is None:
        log.warning("webhook: attempt %s ended (%s) but no callback store is set", marker,
                    outcome)  # fmt: skip
        return False
    call_id, attempt = parse_attempt_id(marker)
    try:
        return await asyncio.to_thread(
            store.finish_attempt,
            call_id,
            attempt,
            outcome,
            detail=detail,
        )
    except CallbackStoreError as exc:  # the dispatcher adopts it and asks the provider
        log.error("webhook: attempt %s not recorded: %s", marker, exc)
        return False


async def status_callback(engine: Engine, request: web.Request, form: dict[str, str]) -> int:
    """Handle `POST /callback-status`; the HTTP status to answer with."""
    marker = request.query.get("cb", "")
    try:
        parse_attempt_id(marker)
    except CallbackStoreError:
        return 400
    outcome = outcome_of_status(form.get("CallStatus", ""), form.get("AnsweredBy"))
    if outcome is None:
        return 400
    if outcome != "active":  # an intermediate event (ringing, answered): nothing to record
        await record(engine, marker, outcome, f"CallStatus={form.get('CallStatus')}")
    return 204


__all__ = ["PRIORITY_VARIABLE", "is_machine", "outbound_variables", "record", "status_callback"]
