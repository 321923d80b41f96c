"""The host's side: an `Engine` holds what sessions need, and runs calls with asyncio.

Three tiers, as in Jinja: the Engine (configuration, look-up functions,
stores, the emergency switch, a flow cache) → a Flow (compiled, immutable) →
a Session (one call). The Engine is where I/O happens: it calls look-up
functions (sync or async, with their timeout), asks the queue-status provider,
stores callbacks and writes the record — exactly once per call. A `Channel`
is the telephony side (the simulator, a FastAGI connection, a webhook).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..compiler import load as compile_flow
from ..errors import LookupFailure
from ..model import Flow
from ..runtime import actions as act
from ..runtime import events as ev
from ..runtime.record import Listener
from ..runtime.sealing import Keyring
from ..runtime.session import Session
from .perform import perform_async
from .recordings import DirectoryRecordingStore, RecordingStore
from .sinks import MemorySink, RecordSink

if TYPE_CHECKING:
    from .calllog import CallLog
    from .journal import CallJournal
    from .metrics import Metrics

log = logging.getLogger("ivrflow.engine")

# A queue-status provider: sync (run on the look-up threads unless it says `blocking = False`)
# or a coroutine function; either way bounded by QUEUE_STATUS_TIMEOUT.
QueueStatusProvider = Callable[[str], Any]
QUEUE_STATUS_TIMEOUT = 2.0  # seconds; past it the flow sees ewt = none
# Threads for plain (sync) look-up functions: their own pool, so look-ups that hang (a dead
# CRM) time out into the flow's error branch without starving callback stores of threads.
LOOKUP_THREADS = 32
GROUP_WRITERS = 16  # records written at once to a sink that commits them together


class CallbackStoreLike(Protocol):
    def store(self, request: Any) -> str: ...


class Channel(Protocol):
    """The telephony side of one call, as seen by `Engine.run`."""

    def now(self) -> float:
        """The channel's clock: wall time behind a real gateway, virtual in tests."""
        ...

    async def play(self, action: act.Say | act.Play) -> ev.Event | None:
        """Play one prompt; return an input event if the caller barged in, else None."""
        ...

    async def collect(self, action: act.Collect) -> ev.Event:
        """Listen as the spec says: Digits, Utterance, NoInput or Hangup."""
        ...

    async def transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        """Bridge the call: TransferResult, or Hangup if the caller left first."""
        ...

    async def hangup(self, reason: str) -> None: ...

    # A channel that can record has `record(action, target) -> Recorded | RecordFailed |
    # Hangup`, recording into the store's `target` path; one without it fails the state.


@dataclass
class _Cached:
    stamp: tuple[int, int]  # mtime_ns, size
    flow: Flow


class Engine:
    def __init__(
        self,
        *,
        records: RecordSink | None = None,
        callbacks: CallbackStoreLike | None = None,
        queue_status: QueueStatusProvider | None = None,
        mask_ani: bool = False,
        snapshot_key: Keyring | bytes | None = None,
        listeners: Iterable[Listener] = (),
        journal: CallJournal | None = None,
        metrics: Metrics | None = None,
        call_log: CallLog | None = None,
        recordings: RecordingStore | None = None,
    ) -> None:
        self.records: RecordSink = records if records is not None else MemorySink()
        # Messages from `record` states: files under ./recordings unless told otherwise.
        self.recordings: RecordingStore = (
            recordings if recordings is not None else DirectoryRecordingStore()
        )
        self.journal = journal  # call starts and ends, for recovery after a crash
        self.callbacks = callbacks
        self.queue_status = queue_status
        self.mask_ani = mask_ani
        self.snapshot_key = snapshot_key
        self.listeners = tuple(listeners)
        self.metrics = metrics  # Prometheus figures (host/metrics.py), or None
        self.call_log = call_log  # one JSON line per call start and end, or None
        # Called with each call that ended, after its record (e.g. an outbound callback's
        # attempt is recorded); a hook that fails is logged and never touches the record.
        self.on_finish: list[Callable[[Session], None]] = []
        self.functions: dict[str, Callable[..., Any]] = {}
        self.emergency: set[str] = set()  # hours names switched to emergency by the host
        self._flows: dict[Path, _Cached] = {}
        self._by_hash: dict[str, Flow] = {}
        # Ids for calls the gateway gives none: unique across restarts (a per-engine token),
        # or a recovered call could be taken for an older call of the same number.
        self._id_prefix = f"call-{secrets.token_hex(4)}"
        self._ids = itertools.count(1)
        self._lookup_pool: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None  # durable writes, in order, off the loop
        self._group_writers: ThreadPoolExecutor | None = None  # for a group-commit sink

    # ------------------------------------------------------------ configuration
    def register(
        self, name: str | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: `@engine.register()` makes a function callable from `lookup` states."""

        def add(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.functions[name or fn.__name__] = fn
            return fn

        return add

    def set_emergency(self, hours: str, on: bool = True) -> None:
        """Close `hours` at once (open() turns false, emergency() true) or reopen them."""
        (self.emergency.add if on else self.emergency.discard)(hours)

    # ------------------------------------------------------------ flows
    def load(self, path: str | Path) -> Flow:
        """The compiled flow, recompiled when the file changed (hot reload).

        Calls in flight keep the Flow object they started with; `flow_by_hash`
        finds older versions for snapshots taken before a reload.
        """
        p = Path(path).resolve()
        info = os.stat(p)
        stamp = (info.st_mtime_ns, info.st_size)
        cached = self._flows.get(p)
        if cached is not None and cached.stamp == stamp:
            return cached.flow
        flow = compile_flow(p)
        self._flows[p] = _Cached(stamp, flow)
        self._by_hash[flow.content_hash] = flow
        return flow

    def flow_by_hash(self, content_hash: str) -> Flow | None:
        return self._by_hash.get(content_hash)

    def session(
        self,
        flow: Flow,
        *,
        ani: str | None,
        dnis: str | None,
        at: float,
        call_id: str | None = None,
        variables: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Session:
        call_id = call_id or f"{self._id_prefix}-{next(self._ids)}"
        return Session(
            flow,
            call_id=call_id,
            ani=ani,
            dnis=dnis,
            at=at,
            variables=variables,
            seed=seed if seed is not None else _seed(call_id),
            emergency=self.emergency,
            listeners=self.listeners,
            mask_ani=self.mask_ani,
        )

    def restore(self, data: dict[str, Any]) -> Session:
        flow = self._by_hash.get(str(data.get("flow_hash")))
        if flow is None:
            from ..runtime.snapshot import SnapshotError

            raise SnapshotError(f"no loaded flow has hash {str(data.get('flow_hash'))[:12]}")
        return Session.from_dict(
            flow, data, self.snapshot_key, emergency=self.emergency, listeners=self.listeners
        )

    # ------------------------------------------------------------ host-side work
    async def lookup(self, action: act.Lookup, now: Callable[[], float]) -> ev.Event:
        if self.metrics is None:
            return await self._lookup(action, now)
        began = time.perf_counter()
        answer = await self._lookup(action, now)
        self.metrics.lookup(action.function, time.perf_counter() - began, answer)
        return answer

    def _pool(self) -> ThreadPoolExecutor:
        if self._lookup_pool is None:
            self._lookup_pool = ThreadPoolExecutor(
                LOOKUP_THREADS, thread_name_prefix="ivrflow-lookup"
            )
        return self._lookup_pool

    async def _lookup(self, action: act.Lookup, now: Callable[[], float]) -> ev.Event:
        fn = self.functions.get(action.function)
        if fn is None:
            return ev.LookupFailed(now(), action.request, f"no function '{action.function}'")
        try:
            if inspect.iscoroutinefunction(fn):
                call: Awaitable[Any] = fn(*action.args)
            else:
                call = asyncio.get_running_loop().run_in_executor(
                    self._pool(), functools.partial(fn, *action.args)
                )
            value = await asyncio.wait_for(call, action.timeout)
        except TimeoutError:
            return ev.LookupFailed(now(), action.request, "timed out", timed_out=True)
        except LookupFailure as exc:  # the host said no, in its own words
            return ev.LookupFailed(now(), action.request, str(exc))
        except Exception as exc:  # the host function failed: the flow's error branch runs
            return ev.LookupFailed(now(), action.request, f"{type(exc).__name__}: {exc}")
        return ev.LookupResult(now(), action.request, value)

    async def queue(self, action: act.GetQueueStatus, now: Callable[[], float]) -> ev.QueueStatus:
        """The queue's status from the provider, never blocking the loop: a coroutine is
        awaited, a plain function runs on the look-up threads (unless it is marked
        `blocking = False`, like the fixtures' table), both within QUEUE_STATUS_TIMEOUT."""
        provider = self.queue_status
        if provider is None:
            return ev.QueueStatus(now(), action.queue, None, None)
        try:
            if inspect.iscoroutinefunction(provider) or not getattr(provider, "blocking", True):
                answer = provider(action.queue)
            else:
                answer = asyncio.get_running_loop().run_in_executor(
                    self._pool(), provider, action.queue
                )
            if inspect.isawaitable(answer):
                answer = await asyncio.wait_for(answer, QUEUE_STATUS_TIMEOUT)
            ewt, position = answer
        except Exception:  # no status (failed, timed out, malformed): the flow sees ewt = none
            ewt, position = None, None
        return ev.QueueStatus(now(), action.queue, ewt, position)

    def store_callback(self, action: act.StoreCallback, flow: Flow, now: float) -> ev.Event:
        if self.callbacks is None:
            return ev.CallbackFailed(now, "no callback store configured")
        try:
            from .callbacks import CallbackRequest

            reference = self.callbacks.store(CallbackRequest.from_action(action, flow.name))
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.callback(flow.name, "failed")
            return ev.CallbackFailed(now, f"{type(exc).__name__}: {exc}")
        if self.metrics is not None:  # a spooled request is kept, but the store failed
            spooled = isinstance(reference, str) and reference.startswith("spooled:")
            self.metrics.callback(flow.name, "spooled" if spooled else "stored")
        return ev.CallbackStored(now, reference)

    def transfer_result(self, session: Session, event: ev.Event) -> None:
        """Note a transfer's result for the figures (called by the drivers with each event)."""
        if self.metrics is not None and type(event) is ev.TransferResult:
            self.metrics.transfer(session.flow.name, event.status)

    def write_record(self, record: dict[str, Any]) -> None:
        self.records.write(record)

    def record_ended(self, record: dict[str, Any]) -> None:
        """Write the record of a call that ended without a session (recovered), and count it."""
        self.write_record(record)
        self._observe_end(record)

    async def write_record_async(self, record: dict[str, Any]) -> None:
        """`record_ended`, off the event loop."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="ivrflow-records")
        await asyncio.get_running_loop().run_in_executor(self._writer, self.record_ended, record)

    def _observe_end(self, record: dict[str, Any]) -> None:
        if self.metrics is not None:
            self.metrics.call_ended(record)
        if self.call_log is not None:
            self.call_log.ended(record)

    def call_started(self, session: Session) -> None:
        """Journal a call before it runs; a journal that cannot be written does not stop it."""
        if self.metrics is not None:
            self.metrics.call_started(session.flow.name)
        if self.call_log is not None:
            self.call_log.started(session)
        if self.journal is None:
            return
        try:
            self.journal.started(session)
        except OSError as exc:
            log.error("journal: call %s not journaled: %s", session.call_id, exc)

    def finish(self, session: Session) -> None:
        """Write the record of a call that ended, then journal its end — in that order, so a
        crash between the two leaves the call open in the journal, never without a record."""
        record = session.record
        assert record is not None
        self.write_record(record)
        self._observe_end(record)
        if self.journal is not None:
            try:
                self.journal.ended(session.call_id)
            except OSError as exc:  # recovery will find it open; the sink skips the duplicate
                log.error("journal: end of call %s not journaled: %s", session.call_id, exc)
        for hook in self.on_finish:
            try:
                hook(session)
            except Exception:
                log.exception("engine: a finish hook failed for call %s", session.call_id)

    async def call_started_async(self, session: Session) -> None:
        """`call_started`, with the journal's fsync off the event loop (other calls go on)."""
        await self._durably(self.call_started, session)

    async def finish_async(self, session: Session) -> None:
        """`finish`, with the record's and the journal's fsyncs off the event loop."""
        await self._durably(self.finish, session)

    async def _durably(self, write: Callable[[Session], None], session: Session) -> None:
        # A journal or a file sink fsyncs (about 0.2-0.4 ms each): done on the loop, every
        # call's reply would wait for every other call's disk. One writer thread keeps the
        # writes in order (a call's start before its end); a sink that says it never blocks
        # (`blocking = False`, e.g. MemorySink) is written at once.
        if self.journal is None and not getattr(self.records, "blocking", True):
            write(session)
            return
        # A sink that commits concurrent writes together (`group_commit`, the PostgreSQL one)
        # gets them concurrently when no journal needs the order.
        if self.journal is None and getattr(self.records, "group_commit", False):
            if self._group_writers is None:
                self._group_writers = ThreadPoolExecutor(
                    GROUP_WRITERS, thread_name_prefix="ivrflow-records"
                )
            await asyncio.get_running_loop().run_in_executor(self._group_writers, write, session)
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="ivrflow-records")
        await asyncio.get_running_loop().run_in_executor(self._writer, write, session)

    # ------------------------------------------------------------ running a call
    async def run(self, session: Session, channel: Channel) -> dict[str, Any]:
        """Drive one call to its end; the record is written exactly once, whatever happens."""
        await self.call_started_async(session)
        try:
            host = _ChannelHost(self, session.flow, channel, session.call_id)
            pending = session.start()
            while not session.ended or pending:
                event = await perform_async(host, pending)
                pending = []
                if event is not None:
                    if type(event) is ev.TransferResult:
                        self.transfer_result(session, event)
                    pending = session.send(event)
                elif not session.ended:
                    # Nothing left to perform but the call goes on: the caller barged into a
                    # prompt with the first keys of an entry, so collect the rest; anything
                    # else would wait forever, so it ends the call.
                    spec = session.listening()
                    pending = [spec] if spec is not None else session.send(ev.Hangup(channel.now()))
        except asyncio.CancelledError:
            session.send(ev.Hangup(channel.now()))
            raise
        except (ConnectionError, EOFError):  # the line went away: the caller is gone
            session.send(ev.Hangup(channel.now()))
            raise
        except Exception as exc:  # the gateway misbehaved (a garbled reply): this call errs
            session.abort(f"gateway: {type(exc).__name__}: {exc}", channel.now())
            raise
        finally:
            if not session.ended:
                session.send(ev.Hangup(channel.now()))
            await self.finish_async(session)
        record = session.record
        assert record is not None
        return record


class _ChannelHost:
    """The `AsyncHost` of `Engine.run`: prompts, input and transfers go to the channel; the
    host-side work (look-ups, queue status, callbacks) is the Engine's."""

    __slots__ = ("engine", "flow", "channel", "session_id", "play", "collect", "transfer")

    def __init__(self, engine: Engine, flow: Flow, channel: Channel, session_id: str) -> None:
        self.engine, self.flow, self.channel = engine, flow, channel
        self.session_id = session_id
        # The channel's own methods, bound once: no extra frame on the gateway's hot path.
        self.play = channel.play
        self.collect = channel.collect
        self.transfer = channel.transfer

    async def lookup(self, action: act.Lookup) -> ev.Event:
        return await self.engine.lookup(action, self.channel.now)

    async def queue_status(self, action: act.GetQueueStatus) -> ev.Event:
        return await self.engine.queue(action, self.channel.now)

    async def store_callback(self, action: act.StoreCallback) -> ev.Event:
        return await asyncio.to_thread(
            self.engine.store_callback, action, self.flow, self.channel.now()
        )

    async def record(self, action: act.Record) -> ev.Event:
        recorder = getattr(self.channel, "record", None)
        if recorder is None:
            return ev.RecordFailed(self.channel.now(), action.request, "this line cannot record")
        store = self.engine.recordings
        target = await asyncio.to_thread(store.target, self.call_id(), action)
        answer: ev.Event = await recorder(action, target)
        if isinstance(answer, ev.Recorded) and answer.reference and answer.duration > 0:
            info = {"call_id": self.call_id(), "state": action.name, "duration": answer.duration,
                    "ended_by": answer.ended_by}  # fmt: skip
            await asyncio.to_thread(store.keep, answer.reference, info)
        return answer

    def call_id(self) -> str:
        return self.session_id

    async def hangup(self, action: act.Hangup) -> None:
        await self.channel.hangup(action.reason)


def _seed(call_id: str) -> int:
    # A stable seed per call id: A/B splits repeat when a call is replayed.
    h = 2166136261
    for c in call_id.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


__all__ = ["LOOKUP_THREADS", "QUEUE_STATUS_TIMEOUT", "Channel", "Engine", "QueueStatusProvider"]
