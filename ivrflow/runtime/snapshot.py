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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import model
from ..errors import IvrflowRuntimeError

if TYPE_CHECKING:
    from .session import Session

FORMAT = 1
_FIELDS = (
    "call_id", "ani", "dnis", "started_at", "now", "state", "phase", "noinput", "nomatch",
    "total_noinput", "total_nomatch", "pending", "pending_since", "seq", "rng", "outcome",
    "ended", "ended_at", "inputs", "lookups", "errors", "choice", "mask_ani", "_in_error",
    "_swallow",
)  # fmt: skip
# Lists of rows added after FORMAT was fixed: a snapshot written before them restores empty.
_OPTIONAL_FIELDS = ("failures",)


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


def _secure_input_now(session: Session) -> bool:
    """Keys waiting may be secure: in a secure capture, or typed ahead in a flow that has one
    (where type-ahead goes is not known until the next question)."""
    state = session.flow.states.get(session.state)
    in_secure = isinstance(state, model.Capture) and state.secure
    return in_secure or bool(session.typeahead and session.flow.secure_variables)


def dump(session: Session, key: bytes | None = None) -> dict[str, Any]:
    from .session import _UNAVAILABLE

    secure = session.flow.secure_variables
    variables: dict[str, Any] = {}
    sealed: dict[str, str | None] = {}
    for name, value in session.vars.items():
        if name in secure:
            sealed[name] = seal(value, key) if key and value is not _UNAVAILABLE else None
        else:
            variables[name] = _encode(value)
    data: dict[str, Any] = {f: _encode(getattr(session, f)) for f in (*_FIELDS, *_OPTIONAL_FIELDS)}
    pending_keys = session.buffer + "\x00" + session.typeahead
    if _secure_input_now(session) and pending_keys != "\x00":
        data["keys"] = {"sealed": seal(pending_keys, key) if key else None}
    else:
        data["keys"] = {"buffer": session.buffer, "typeahead": session.typeahead}
    data.update(
        format=FORMAT,
        flow=session.flow.name,
        flow_hash=session.flow.content_hash,
        vars=variables,
        secure=sealed,
        path=[[s, t] for s, t in session.path],
        calls=[
            [s, role, [list(f) for f in frames], list(counts), label]
            for s, role, frames, counts, label in session.calls
        ],
    )
    return data


def load(
    cls: type[Session], flow: model.Flow, data: Mapping[str, Any], key: bytes | None, **host: Any
) -> Session:
    """Continue a call from `dump`'s data. `host`: emergency, listeners (not in snapshots)."""
    from .session import _UNAVAILABLE

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
    try:
        s = cls(
            flow,
            call_id=str(data["call_id"]),
            ani=None,
            dnis=None,
            at=float(data["started_at"]),
            **host,
        )
        for f in _FIELDS:
            setattr(s, f, _decode(data[f]))
        for f in _OPTIONAL_FIELDS:
            setattr(s, f, [tuple(row) for row in _decode(data.get(f, []))])
        s.vars = {k: _decode(v) for k, v in data["vars"].items()}
        for name, token in data.get("secure", {}).items():
            s.vars[name] = unseal(token, key) if token and key else _UNAVAILABLE
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
            (
                st,
                role,
                [(int(b), int(i)) for b, i in frames],
                (int(counts[0]), int(counts[1])),
                str(label),
            )
            for st, role, frames, counts, label in data["calls"]
        ]
        _check_shapes(s)
    except SnapshotError:
        raise
    except Exception as exc:  # whatever is wrong with the data, the caller gets one error type
        raise SnapshotError(f"the snapshot is incomplete or damaged: {exc!r}") from None
    if s.state not in flow.states:
        raise SnapshotError(f"the snapshot is in state '{s.state}', which the flow lacks")
    return s


def _check_shapes(s: Session) -> None:
    """Fields a later `record` or `send` would trip on, checked now."""
    problems = []
    if s.outcome is not None and not isinstance(s.outcome, dict):
        problems.append("outcome")
    if not (
        isinstance(s.inputs, list)
        and all(isinstance(i, list | tuple) and len(i) == 5 for i in s.inputs)
    ):
        problems.append("inputs")
    if not (isinstance(s.lookups, list) and all(isinstance(x, dict) for x in s.lookups)):
        problems.append("lookups")
    if not (isinstance(s.errors, list) and all(isinstance(x, str) for x in s.errors)):
        problems.append("errors")
    for name in ("now", "started_at"):
        if not isinstance(getattr(s, name), int | float):
            problems.append(name)
    if not isinstance(s.vars, dict):
        problems.append("vars")
    if problems:
        raise SnapshotError(f"the snapshot is damaged: bad {', '.join(problems)}")


__all__ = ["FORMAT", "SnapshotError", "dump", "load", "seal", "unseal"]
