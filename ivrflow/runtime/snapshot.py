"""Session snapshots: plain JSON, stamped with the flow, secure values kept out.

`dump` turns a session into JSON-ready data; `load` continues it, on any
process, against the same flow (same name and content hash, or a clear
`SnapshotError`). Secure captures are dropped unless the host passes a key, in
which case they are encrypted (SHA-256 keystream, HMAC-SHA-256 tag: standard
library only, authenticated, a fresh nonce per value).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Container, Mapping, Sequence
from typing import Any, TypeVar

from .. import model
from ..errors import IvrflowRuntimeError
from .listener import Listener
from .state import UNAVAILABLE, CallFrame, CallState, Failure, Input, Phase

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


def _keys(key: bytes) -> tuple[bytes, bytes]:
    return (
        hashlib.sha256(b"ivrflow-enc\0" + key).digest(),
        hashlib.sha256(b"ivrflow-mac\0" + key).digest(),
    )


def _stream(enc: bytes, nonce: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(enc + nonce + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:length])


def seal(value: Any, key: bytes) -> str:
    enc, mac = _keys(key)
    nonce = os.urandom(16)
    plain = json.dumps(_encode(value)).encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _stream(enc, nonce, len(plain)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(token: str, key: bytes) -> Any:
    enc, mac = _keys(key)
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (ValueError, TypeError):
        raise SnapshotError("a secure value in the snapshot is corrupt") from None
    nonce, cipher, tag = raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]):
        raise SnapshotError("a secure value does not match the key (wrong key or tampering)")
    plain = bytes(a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)), strict=True))
    return _decode(json.loads(plain))


def _secure_input_now(call: CallState) -> bool:
    """Keys waiting may be secure: in a secure capture, or typed ahead in a flow that has one
    (where type-ahead goes is not known until the next question)."""
    state = call.flow.states.get(call.state)
    in_secure = isinstance(state, model.Capture) and state.secure
    return in_secure or bool(call.typeahead and call.flow.secure_variables)


def dump(call: CallState, key: bytes | None = None) -> dict[str, Any]:
    """The call as JSON-ready data. Field by field rather than a loop over names: a
    stateless gateway takes a snapshot after every event. Rows hold plain values only."""
    secure = call.flow.secure_variables
    variables: dict[str, Any] = {}
    sealed: dict[str, str | None] = {}
    for name, value in call.vars.items():
        if name in secure:
            sealed[name] = seal(value, key) if key and value is not UNAVAILABLE else None
        else:
            variables[name] = value if type(value) in _PLAIN else _encode(value)
    pending_keys = call.buffer + "\x00" + call.typeahead
    if _secure_input_now(call) and pending_keys != "\x00":
        keys: dict[str, Any] = {"sealed": seal(pending_keys, key) if key else None}
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
    key: bytes | None,
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
        s.inputs = [Input(*row) for row in data["inputs"]]
        s.failures = [Failure(*row) for row in data.get("failures", ())]
        s.lookups = _decode(data["lookups"])
        s.queue_legs = _decode(data.get("queue_legs", []))
        s.errors = _decode(data["errors"])
        s.choice = data["choice"]
        s.mask_ani = data["mask_ani"]
        s.in_error = data["_in_error"]
        s.swallow = data["_swallow"]
        variables = {k: v if type(v) in _PLAIN else _decode(v) for k, v in data["vars"].items()}
        for name, token in data.get("secure", {}).items():
            variables[name] = unseal(token, key) if token and key else UNAVAILABLE
        s.vars = variables
        keys = data["keys"]
        if "sealed" in keys:
            token = keys["sealed"]
            buffer, _, typeahead = (unseal(token, key) if token and key else "\x00").partition(
                "\x00"
            )
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
    if not (isinstance(s.errors, list) and all(isinstance(x, str) for x in s.errors)):
        problems.append("errors")
    for name in ("now", "started_at"):
        if not isinstance(getattr(s, name), int | float):
            problems.append(name)
    if problems:
        raise SnapshotError(f"the snapshot is damaged: bad {', '.join(problems)}")


__all__ = ["FORMAT", "SnapshotError", "dump", "load", "seal", "unseal"]
