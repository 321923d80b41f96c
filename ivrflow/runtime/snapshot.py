"""Session snapshots: plain JSON, stamped with the flow, secure values kept out.

`dump` turns a session into JSON-ready data; `load` continues it, on any
process, against the same flow (same name and content hash, or a clear
`SnapshotError`). Secure captures are dropped unless the host passes a key, in
which case they are sealed with AES-256-GCM, bound to the call, the flow and the
variable (see `sealing`: key rotation, raw or HKDF-derived keys).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Container, Mapping, Sequence
from typing import Any, TypeVar

from .. import model
from ..errors import IvrflowRuntimeError
from .listener import Listener
from .sealing import Keyring, SealError, context, keyring
from .state import UNAVAILABLE, CallFrame, CallState, Failure, Input, Phase, new_row

FORMAT = 1
C = TypeVar("C", bound=CallState)


class SnapshotError(IvrflowRuntimeError):
    """A snapshot cannot be restored (another flow, a changed flow, a bad key, bad data)."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    if type(value) in _PLAIN:  # nearly every value: no conversion
        return value
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, text),) = value.items()
            if tag == "$datetime":
                return dt.datetime.fromisoformat(text)
            if tag == "$date":
                return dt.date.fromisoformat(text)
            if tag == "$time":
                return dt.time.fromisoformat(text)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


Key = Keyring | bytes  # a keyring, or a secret that HKDF turns into one
KEYS_FIELD = "$keys"  # the name pending secure keys are sealed under


def seal(value: Any, key: Key, call_id: str, flow_hash: str, name: str) -> str:
    """`value` (JSON-able) sealed for one variable of one call of one flow."""
    plain = json.dumps(_encode(value)).encode()
    return keyring(key).seal(plain, context(call_id, flow_hash, name))


def unseal(token: str, key: Key, call_id: str, flow_hash: str, name: str) -> Any:
    """The value `seal` sealed; SnapshotError when it does not open here."""
    if not isinstance(token, str):
        raise SnapshotError("a secure value in the snapshot is corrupt")
    try:
        plain = keyring(key).open(token, context(call_id, flow_hash, name))
    except SealError as exc:
        raise SnapshotError(str(exc)) from None
    return _decode(json.loads(plain))


def _secure_input_now(call: CallState) -> bool:
    """Keys waiting may be secure: in a secure capture, or typed ahead in a flow that has one
    (where type-ahead goes is not known until the next question)."""
    state = call.flow.states.get(call.state)
    in_secure = isinstance(state, model.Capture) and state.secure
    return in_secure or bool(call.typeahead and call.flow.secure_variables)


def dump(call: CallState, key: Key | None = None) -> dict[str, Any]:
    """The call as JSON-ready data. Field by field rather than a loop over names: a
    stateless gateway takes a snapshot after every event. Rows hold plain values only."""
    secure = call.flow.secure_variables
    flow_hash = call.flow.content_hash
    variables: dict[str, Any] = {}
    sealed: dict[str, str | None] = {}
    for name, value in call.vars.items():
        if name in secure:
            sealed[name] = (
                seal(value, key, call.call_id, flow_hash, name)
                if key and value is not UNAVAILABLE
                else None
            )
        else:
            variables[name] = value if type(value) in _PLAIN else _encode(value)
    pending_keys = call.buffer + "\x00" + call.typeahead
    if _secure_input_now(call) and pending_keys != "\x00":
        keys: dict[str, Any] = {
            "sealed": seal(pending_keys, key, call.call_id, flow_hash, KEYS_FIELD) if key else None
        }
    else:
        keys = {"buffer": call.buffer, "typeahead": call.typeahead}
    flow = call.flow
    return {
        "call_id": call.call_id,
        "ani": call.ani,
        "dnis": call.dnis,
        "started_at": call.started_at,
        "now": call.now,
        "state": call.state,
        "phase": str(call.phase),
        "noinput": call.noinput,
        "nomatch": call.nomatch,
        "total_noinput": call.total_noinput,
        "total_nomatch": call.total_nomatch,
        "pending": call.pending,
        "pending_since": call.pending_since,
        "seq": call.seq,
        "rng": call.rng,
        "outcome": _encode(call.outcome),
        "ended": call.ended,
        "ended_at": call.ended_at,
        "inputs": [list(row) for row in call.inputs],
        "lookups": [_encode(x) for x in call.lookups],
        "errors": list(call.errors),
        "choice": call.choice,
        "mask_ani": call.mask_ani,
        "_in_error": call.in_error,
        "_swallow": call.swallow,
        "failures": [list(row) for row in call.failures],
        **({"queue_legs": _encode(call.queue_legs)} if call.queue_legs else {}),
        **({"recordings": _encode(call.recordings)} if call.recordings else {}),
        "keys": keys,
        "format": FORMAT,
        "flow": flow.name,
        "flow_hash": flow.content_hash,
        "vars": variables,
        "secure": sealed,
        "path": [[s, t] for s, t in call.path],
        "calls": [
            [f.state, f.role, [list(at) for at in f.resume], list(f.counts), f.label]
            for f in call.calls
        ],
    }


def load(
    cls: type[C],
    flow: model.Flow,
    data: Mapping[str, Any],
    key: Key | None,
    *,
    emergency: Container[str] = frozenset(),
    listeners: Sequence[Listener] = (),
) -> C:
    """Continue a call from `dump`'s data, as an instance of `cls` (a `Session`). The
    host's settings (emergency, listeners) are not in snapshots: they are given again."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise SnapshotError("not an ivrflow session snapshot (or from another version)")
    if data.get("flow") != flow.name:
        raise SnapshotError(f"the snapshot is of flow '{data.get('flow')}', not '{flow.name}'")
    if data.get("flow_hash") != flow.content_hash:
        raise SnapshotError(
            f"flow '{flow.name}' changed since the snapshot was taken "
            f"({str(data.get('flow_hash'))[:12]} → {flow.content_hash[:12]}); restore it against "
            "the version it started on (Engine keeps it while calls are in flight)"
        )
    # Every field is set here, without running the session's __init__ (its phone number
    # normalization and defaults would all be overwritten).
    s = cls.__new__(cls)
    try:
        s.flow = flow
        s.call_id = str(data["call_id"])
        s.ani = data["ani"]
        s.dnis = data["dnis"]
        s.started_at = data["started_at"]
        s.now = data["now"]
        s.state = data["state"]
        s.phase = Phase(data["phase"])
        s.noinput = data["noinput"]
        s.nomatch = data["nomatch"]
        s.total_noinput = data["total_noinput"]
        s.total_nomatch = data["total_nomatch"]
        s.pending = data["pending"]
        s.pending_since = data["pending_since"]
        s.seq = data["seq"]
        s.rng = data["rng"]
        s.outcome = _decode(data["outcome"])
        s.ended = data["ended"]
        s.ended_at = data["ended_at"]
        s.inputs = [new_row(Input, tuple(row)) for row in data["inputs"]]  # speech rows: 6
        s.failures = [Failure(*row) for row in data.get("failures", ())]
        s.lookups = _decode(data["lookups"])
        s.queue_legs = _decode(data.get("queue_legs", []))
        s.recordings = _decode(data.get("recordings", []))
        s.errors = _decode(data["errors"])
        s.choice = data["choice"]
        s.mask_ani = data["mask_ani"]
        s.in_error = data["_in_error"]
        s.swallow = data["_swallow"]
        variables = {k: v if type(v) in _PLAIN else _decode(v) for k, v in data["vars"].items()}
        call_id, flow_hash = s.call_id, flow.content_hash
        for name, token in data.get("secure", {}).items():
            variables[name] = (
                unseal(token, key, call_id, flow_hash, name) if token and key else UNAVAILABLE
            )
        s.vars = variables
        keys = data["keys"]
        if "sealed" in keys:
            token = keys["sealed"]
            opened = unseal(token, key, call_id, flow_hash, KEYS_FIELD) if token and key else None
            buffer, _, typeahead = (opened if isinstance(opened, str) else "\x00").partition("\x00")
        else:
            buffer, typeahead = keys["buffer"], keys["typeahead"]
        s.buffer, s.typeahead = buffer, typeahead
        s.path = [(str(st), float(t)) for st, t in data["path"]]
        s.calls = [
            CallFrame(
                st,
                role,
                [(int(b), int(i)) for b, i in frames],
                (int(counts[0]), int(counts[1])),
                str(label),
            )
            for st, role, frames, counts, label in data["calls"]
        ]
        s.listeners = tuple(listeners)
        s.emergency = emergency
        s.out = []
        s.budget = 0  # each `send` sets its own
        s.label = ""
        _check_shapes(s)
    except SnapshotError:
        raise
    except Exception as exc:  # whatever is wrong with the data, the caller gets one error type
        raise SnapshotError(f"the snapshot is incomplete or damaged: {exc!r}") from None
    if s.state not in flow.states:
        raise SnapshotError(f"the snapshot is in state '{s.state}', which the flow lacks")
    return s


def _check_shapes(s: CallState) -> None:
    """Fields a later `record` or `send` would trip on, checked now."""
    problems = []
    if s.outcome is not None and not isinstance(s.outcome, dict):
        problems.append("outcome")
    if not (isinstance(s.lookups, list) and all(isinstance(x, dict) for x in s.lookups)):
        problems.append("lookups")
    if not (isinstance(s.queue_legs, list) and all(isinstance(x, dict) for x in s.queue_legs)):
        problems.append("queue_legs")
    if not (isinstance(s.recordings, list) and all(isinstance(x, dict) for x in s.recordings)):
        problems.append("recordings")
    if not (isinstance(s.errors, list) and all(isinstance(x, str) for x in s.errors)):
        problems.append("errors")
    for name in ("now", "started_at"):
        if not isinstance(getattr(s, name), int | float):
            problems.append(name)
    if problems:
        raise SnapshotError(f"the snapshot is damaged: bad {', '.join(problems)}")


__all__ = ["FORMAT", "KEYS_FIELD", "Key", "SnapshotError", "dump", "load", "seal", "unseal"]
