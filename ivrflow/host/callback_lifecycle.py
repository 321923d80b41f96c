"""The callback lifecycle in SQL, once for every database: claiming due requests, recording
each attempt, and what operators see and do (list, show, cancel, retry).

A store (SQLite, PostgreSQL) subclasses `LifecycleStore` and gives it a transaction
(`_transaction`) and its locking clause. Exactly-once rests on two things:

- a claim sets `state = 'dialing'`, an attempt number and a lease in the transaction that
  picked the row (SQLite: one writer at a time, `BEGIN IMMEDIATE`; PostgreSQL:
  `FOR UPDATE SKIP LOCKED`, so dispatchers never wait for each other's rows). A row in
  `dialing` is never claimed again; once its lease expires another dispatcher *adopts* it —
  it takes over the same attempt to find out how it ended, it does not dial it again;
- an attempt's outcome is written only while it has none (`finish_attempt` is idempotent:
  the status callback, the outbound call's end and an adopting dispatcher may all report it),
  and the request's next state follows `callback_rules.after_attempt` in that transaction.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .callback_rules import (
    FINAL_STATES,
    OUTCOMES,
    STATES,
    Outcome,
    RetryPolicy,
    after_attempt,
    deadline,
    first_due,
    open_at,
    parse_window,
)
from .callback_types import CallbackRequest, CallbackStoreError

Execute = Callable[[str, tuple[Any, ...]], Any]  # (SQL with ? placeholders, args) → cursor

REQUEST_COLUMNS = "call_id, number, queue, ani, window_start, window_end, requested_at, flow, extra"
ENTRY_COLUMNS = (
    f"{REQUEST_COLUMNS}, state, priority, attempts, due_at, lease_owner, lease_until, "
    "last_outcome, done_at, stored_at"
)
ATTEMPT_COLUMNS = "attempt, started_at, ended_at, outcome, detail, dispatcher, reference"
SCHEDULE_BATCH = 500  # requests given their first due time per claim pass


def priority_of(request: CallbackRequest) -> int:
    """The request's queue priority (higher first), from what the flow stored with it."""
    try:
        return int(request.extra.get("priority") or 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    started_at: float
    ended_at: float | None
    outcome: str | None
    detail: str | None
    dispatcher: str | None
    reference: str | None  # the telephony side's id of the call (CallSid, channel id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.number, "started_at": self.started_at, "ended_at": self.ended_at,
            "outcome": self.outcome, "detail": self.detail, "dispatcher": self.dispatcher,
            "reference": self.reference,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored request with where it stands."""

    request: CallbackRequest
    state: str
    priority: int
    attempts: int
    due_at: float | None
    lease_owner: str | None
    lease_until: float | None
    last_outcome: str | None
    done_at: float | None
    stored_at: float
    history: tuple[Attempt, ...] = ()

    def as_dict(self, *, masked: bool = True) -> dict[str, Any]:
        from ..runtime.record import mask

        r = self.request
        out: dict[str, Any] = {
            "call_id": r.call_id, "number": mask(r.number) if masked else r.number,
            "queue": r.queue, "flow": r.flow, "window": list(r.window) if r.window else None,
            "requested_at": r.requested_at, "state": self.state, "priority": self.priority,
            "attempts": self.attempts, "due_at": self.due_at, "last_outcome": self.last_outcome,
            "done_at": self.done_at, "lease_owner": self.lease_owner,
        }  # fmt: skip
        if self.history:
            out["history"] = [a.as_dict() for a in self.history]
        return out


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt a dispatcher holds: dial it (or, `adopted`, find out how it ended)."""

    request: CallbackRequest
    attempt: int
    owner: str
    lease_until: float
    priority: int = 0
    adopted: bool = False
    reference: str | None = None
    started_at: float = 0.0  # when the attempt was claimed first

    @property
    def attempt_id(self) -> str:
        return attempt_id(self.request.call_id, self.attempt)


def attempt_id(call_id: str, attempt: int) -> str:
    return f"{call_id}~{attempt}"


def parse_attempt_id(text: str) -> tuple[str, int]:
    call_id, sep, number = str(text).rpartition("~")
    if not sep or not call_id or not number.isdigit():
        raise CallbackStoreError(f"not an attempt id: {text!r}")
    return call_id, int(number)


@dataclass
class Figures:
    """The store's callback figures for the report (docs/metrics.md, "Callbacks")."""

    requested: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    time_to_callback: list[float] = field(default_factory=list)  # completed: request → answered
    attempts_per_completion: list[int] = field(default_factory=list)


def request_from_row(r: Any) -> CallbackRequest:
    window = (r[4], r[5]) if r[4] else None
    extra = r[8] if isinstance(r[8], dict) else json.loads(r[8] or "{}")
    return CallbackRequest(r[0], r[1], r[2], r[3], window, float(r[6]), r[7], extra)


def _entry(r: Any, history: tuple[Attempt, ...] = ()) -> Entry:
    return Entry(
        request_from_row(r), r[9], int(r[10]), int(r[11]), r[12], r[13], r[14], r[15], r[16],
        float(r[17]), history,
    )  # fmt: skip


class LifecycleStore:
    """What a store with a lifecycle does; subclasses give it transactions."""

    policy: RetryPolicy
    for_update = ""  # the locking clause of a claim's SELECT (PostgreSQL: SKIP LOCKED)

    def _transaction(self, doing: str) -> AbstractContextManager[Execute]:
        raise NotImplementedError

    # The CallbackStore protocol (host.callbacks), which every store also keeps.
    def store(self, request: CallbackRequest) -> str:
        raise NotImplementedError

    def get(self, call_id: str) -> CallbackRequest | None:
        raise NotImplementedError

    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        raise NotImplementedError

    def mark_done(self, call_id: str, status: str) -> None:
        """The protocol's way to end a request by hand: a final state, or `completed`."""
        if not isinstance(status, str) or not status:
            raise CallbackStoreError("a callback status must be a non-empty string")
        state = status if status in FINAL_STATES else "completed"
        with self._transaction(f"marking the callback of call {call_id} done") as db:
            cur = db(
                "UPDATE callbacks SET status = ?, state = ?, done_at = ?, lease_owner = NULL "
                "WHERE call_id = ?",
                (status, state, time.time(), call_id),
            )
        if cur.rowcount == 0:
            raise CallbackStoreError(f"no callback request for call id {call_id!r}")

    def close(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ dispatching
    def claim(self, owner: str, now: float | None = None, limit: int = 10) -> list[Claim]:
        """Up to `limit` attempts for `owner`: due requests (highest priority, then oldest
        due), and requests whose dispatcher's lease expired (adopted, not dialled again)."""
        now = time.time() if now is None else now
        policy = self.policy
        with self._transaction("claiming callbacks") as db:
            self._schedule(db, now)
            claims = self._adopt(db, owner, now, limit)
            rows = db(
                f"SELECT {REQUEST_COLUMNS}, priority, attempts, due_at FROM callbacks "
                "WHERE state = 'pending' AND due_at <= ? ORDER BY priority DESC, due_at, id "
                f"LIMIT ? {self.for_update}",
                (now, max(limit - len(claims), 0)),
            ).fetchall()
            for r in rows:
                request = request_from_row(r)
                window = parse_window(request.window)
                when = open_at(policy, max(now, float(r[11])), window)
                if when is None or when >= deadline(policy, request.requested_at, window):
                    self._finalize(db, request.call_id, "expired", now)
                    continue
                if when > now:  # the hours changed since it was scheduled: not yet
                    db("UPDATE callbacks SET due_at = ? WHERE call_id = ?", (when, request.call_id))
                    continue
                number = int(r[10]) + 1
                until = now + policy.lease
                db(
                    "UPDATE callbacks SET state = 'dialing', attempts = ?, lease_owner = ?, "
                    "lease_until = ?, updated_at = ? WHERE call_id = ?",
                    (number, owner, until, now, request.call_id),
                )
                db(
                    "INSERT INTO callback_attempts (call_id, attempt, started_at, dispatcher) "
                    "VALUES (?, ?, ?, ?)",
                    (request.call_id, number, now, owner),
                )
                claims.append(Claim(request, number, owner, until, int(r[9]), started_at=now))
        return claims

    def _schedule(self, db: Execute, now: float) -> None:
        """Give newly stored requests their first due time (or expire them)."""
        rows = db(
            f"SELECT {REQUEST_COLUMNS} FROM callbacks WHERE state = 'pending' AND due_at IS NULL "
            f"ORDER BY id LIMIT ? {self.for_update}",
            (SCHEDULE_BATCH,),
        ).fetchall()
        for r in rows:
            request = request_from_row(r)
            due = first_due(self.policy, request.requested_at, parse_window(request.window))
            if due is None:
                self._finalize(db, request.call_id, "expired", now)
            else:
                db("UPDATE callbacks SET due_at = ? WHERE call_id = ?", (due, request.call_id))

    def _adopt(self, db: Execute, owner: str, now: float, limit: int) -> list[Claim]:
        rows = db(
            f"SELECT {REQUEST_COLUMNS}, priority, attempts FROM callbacks "
            f"WHERE state = 'dialing' AND lease_until < ? ORDER BY lease_until LIMIT ? "
            f"{self.for_update}",
            (now, limit),
        ).fetchall()
        claims = []
        for r in rows:
            request, number = request_from_row(r), int(r[10])
            until = now + self.policy.lease
            db(
                "UPDATE callbacks SET lease_owner = ?, lease_until = ?, updated_at = ? "
                "WHERE call_id = ?",
                (owner, until, now, request.call_id),
            )
            ref = db(
                "SELECT reference, started_at FROM callback_attempts "
                "WHERE call_id = ? AND attempt = ?",
                (request.call_id, number),
            ).fetchone()
            claims.append(
                Claim(
                    request,
                    number,
                    owner,
                    until,
                    int(r[9]),
                    True,
                    ref[0] if ref else None,
                    float(ref[1]) if ref else now,
                )  # fmt: skip
            )
        return claims

    def renew(self, claim: Claim, now: float | None = None) -> Claim | None:
        """Extend the lease of a claim still held; None when another dispatcher took it."""
        now = time.time() if now is None else now
        until = now + self.policy.lease
        with self._transaction("renewing a claim") as db:
            cur = db(
                "UPDATE callbacks SET lease_until = ? WHERE call_id = ? AND state = 'dialing' "
                "AND attempts = ? AND lease_owner = ?",
                (until, claim.request.call_id, claim.attempt, claim.owner),
            )
        if cur.rowcount != 1:
            return None
        return dataclasses.replace(claim, lease_until=until)

    def set_reference(self, call_id: str, attempt: int, reference: str) -> None:
        """The telephony side's id for an attempt, so an adopting dispatcher can ask it."""
        with self._transaction("keeping an attempt's reference") as db:
            db(
                "UPDATE callback_attempts SET reference = ? WHERE call_id = ? AND attempt = ?",
                (reference, call_id, attempt),
            )

    def release(self, claim: Claim, due_at: float, detail: str) -> bool:
        """Undo a claim whose call was never placed (the dialer is down): no attempt is
        counted, the request is due again at `due_at`."""
        with self._transaction("releasing a claim") as db:
            cur = db(
                "UPDATE callbacks SET state = 'pending', attempts = attempts - 1, due_at = ?, "
                "lease_owner = NULL, lease_until = NULL, last_outcome = ? "
                "WHERE call_id = ? AND state = 'dialing' AND attempts = ?",
                (due_at, f"not placed: {detail}"[:500], claim.request.call_id, claim.attempt),
            )
            if cur.rowcount == 1:
                db(
                    "DELETE FROM callback_attempts WHERE call_id = ? AND attempt = ? "
                    "AND outcome IS NULL",
                    (claim.request.call_id, claim.attempt),
                )
        return bool(cur.rowcount == 1)

    def finish_attempt(
        self,
        call_id: str,
        attempt: int,
        outcome: Outcome,
        *,
        detail: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Record how an attempt ended and move its request on. True when this call recorded
        it; False when the attempt already had its outcome (a second report changes nothing)."""
        if outcome not in OUTCOMES:
            raise CallbackStoreError(f"unknown attempt outcome {outcome!r}")
        now = time.time() if now is None else now
        with self._transaction(f"recording attempt {attempt} of call {call_id}") as db:
            found = db(
                "SELECT outcome FROM callback_attempts WHERE call_id = ? AND attempt = ? "
                f"{self.for_update.replace(' SKIP LOCKED', '')}",
                (call_id, attempt),
            ).fetchone()
            if found is None or found[0] is not None:
                return False
            db(
                "UPDATE callback_attempts SET outcome = ?, detail = ?, ended_at = ? "
                "WHERE call_id = ? AND attempt = ?",
                (outcome, detail[:500] if detail else None, now, call_id, attempt),
            )
            row = db(
                f"SELECT {REQUEST_COLUMNS}, state, attempts, extra_attempts FROM callbacks "
                "WHERE call_id = ?",
                (call_id,),
            ).fetchone()
            if row is None or row[9] != "dialing" or int(row[10]) != attempt:
                return True  # cancelled meanwhile: the attempt is kept, the state stays
            request = request_from_row(row)
            step = after_attempt(
                self.policy, attempts=attempt - int(row[11]), outcome=outcome, now=now,
                requested_at=request.requested_at, window=parse_window(request.window),
            )  # fmt: skip
            if step.state == "pending":
                db(
                    "UPDATE callbacks SET state = 'pending', due_at = ?, lease_owner = NULL, "
                    "lease_until = NULL, last_outcome = ?, updated_at = ? WHERE call_id = ?",
                    (step.due_at, outcome, now, call_id),
                )
            else:
                self._finalize(db, call_id, step.state, now, outcome)
        return True

    def _finalize(
        self, db: Execute, call_id: str, state: str, now: float, outcome: str | None = None
    ) -> None:
        db(
            "UPDATE callbacks SET state = ?, status = ?, done_at = ?, due_at = NULL, "
            "lease_owner = NULL, lease_until = NULL, last_outcome = COALESCE(?, last_outcome), "
            "updated_at = ? WHERE call_id = ?",
            (state, state, now, outcome, now, call_id),
        )

    # ------------------------------------------------------------ operators
    def entries(
        self,
        *,
        state: str | None = None,
        queue: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Stored requests, newest first, filtered by state, queue and request time."""
        if state is not None and state not in STATES:
            raise CallbackStoreError(f"unknown state {state!r} (one of {', '.join(STATES)})")
        where: list[str] = []
        args: list[Any] = []
        for clause, value in (("state = ?", state), ("queue = ?", queue)):
            if value is not None:
                where.append(clause)
                args.append(value)
        if since is not None:
            where.append("requested_at >= ?")
            args.append(since)
        tail = ("WHERE " + " AND ".join(where)) if where else ""
        with self._transaction("listing callbacks") as db:
            rows = db(
                f"SELECT {ENTRY_COLUMNS} FROM callbacks {tail} "
                "ORDER BY requested_at DESC, id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def entry(self, call_id: str) -> Entry | None:
        """One request with every attempt."""
        with self._transaction("reading a callback") as db:
            row = db(f"SELECT {ENTRY_COLUMNS} FROM callbacks WHERE call_id = ?", (call_id,))
            found = row.fetchone()
            if found is None:
                return None
            attempts = db(
                f"SELECT {ATTEMPT_COLUMNS} FROM callback_attempts WHERE call_id = ? "
                "ORDER BY attempt",
                (call_id,),
            ).fetchall()
        return _entry(found, tuple(Attempt(*a) for a in attempts))

    def cancel(self, call_id: str, now: float | None = None) -> bool:
        """Cancel an open request; False when it is already final. An attempt ringing now is
        left to end; its outcome is recorded and the request stays cancelled."""
        now = time.time() if now is None else now
        with self._transaction(f"cancelling the callback of call {call_id}") as db:
            state = self._state(db, call_id)
            if state in FINAL_STATES:
                return False
            self._finalize(db, call_id, "cancelled", now)
        return True

    def retry(self, call_id: str, now: float | None = None) -> bool:
        """Put a request back to ring now (one more attempt, even when exhausted, expired or
        cancelled); False while an attempt is ringing."""
        now = time.time() if now is None else now
        with self._transaction(f"retrying the callback of call {call_id}") as db:
            if self._state(db, call_id) == "dialing":
                return False
            db(
                "UPDATE callbacks SET state = 'pending', status = NULL, done_at = NULL, "
                "due_at = ?, extra_attempts = CASE WHEN attempts >= ? THEN attempts + 1 - ? "
                "ELSE extra_attempts END, updated_at = ? WHERE call_id = ?",
                (now, self.policy.max_attempts, self.policy.max_attempts, now, call_id),
            )
        return True

    def _state(self, db: Execute, call_id: str) -> str:
        row = db("SELECT state FROM callbacks WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            raise CallbackStoreError(f"no callback request for call id {call_id!r}")
        return str(row[0])

    def figures(self, since: float | None = None) -> Figures:
        """Counts by state and outcome; time to callback and attempts of completed requests."""
        out = Figures()
        cond, args = ("WHERE requested_at >= ?", (since,)) if since is not None else ("", ())
        with self._transaction("reading callback figures") as db:
            for state, n in db(
                f"SELECT state, count(*) FROM callbacks {cond} GROUP BY state", args
            ).fetchall():
                out.by_state[str(state)] = int(n)
            join = "JOIN callbacks c ON c.call_id = a.call_id"
            where = "WHERE c.requested_at >= ?" if since is not None else ""
            for outcome, n in db(
                f"SELECT a.outcome, count(*) FROM callback_attempts a {join} {where} "
                "GROUP BY a.outcome",
                args,
            ).fetchall():
                out.outcomes[str(outcome or "in_progress")] = int(n)
            for requested_at, ended_at, attempts in db(
                "SELECT c.requested_at, a.ended_at, c.attempts FROM callbacks c "
                "JOIN callback_attempts a ON a.call_id = c.call_id AND a.outcome = 'answered' "
                f"WHERE c.state = 'completed' {'AND c.requested_at >= ?' if since else ''}",
                args,
            ).fetchall():
                out.time_to_callback.append(float(ended_at) - float(requested_at))
                out.attempts_per_completion.append(int(attempts))
        out.requested = sum(out.by_state.values())
        out.attempts = sum(out.outcomes.values())
        return out


def iter_lines(entries: list[Entry]) -> Iterator[str]:
    """A table of entries for a terminal (numbers masked)."""
    yield f"{'call id':<28} {'state':<10} {'queue':<12} {'number':<16} {'tries':>5}  due / done"
    for e in entries:
        d = e.as_dict()
        when = e.due_at if e.state in ("pending", "dialing") else e.done_at
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) if when else "-"
        yield (
            f"{e.request.call_id[:28]:<28} {e.state:<10} {e.request.queue[:12]:<12} "
            f"{d['number']:<16} {e.attempts:>5}  {stamp}"
        )


__all__ = [
    "Attempt",
    "Claim",
    "Entry",
    "Execute",
    "Figures",
    "LifecycleStore",
    "attempt_id",
    "iter_lines",
    "parse_attempt_id",
    "priority_of",
    "request_from_row",
]
