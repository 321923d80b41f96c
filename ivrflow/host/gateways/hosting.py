"""What every gateway command shares: where the flows are, where to listen, and the Engine
with its record sink, callback store and look-up functions (or fixtures).

Nothing a call produced may be lost to a sick disk or a crash: the records file sits behind a
spool (`FILE.spool`) that keeps what the file refused, the callback database likewise
(`DB.spool`), both replayed at start-up, after the next success and every `REPLAY_EVERY`
seconds; with `--journal`, calls a crashed server left unfinished get their `error` record
when the server starts again."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...model import Flow
from ...runtime.sealing import Keyring
from ..calllog import CallLog
from ..dispatcher import attempt_recorder
from ..engine import Engine
from ..health import Check, engine_spools
from ..journal import CallJournal, recover_calls
from ..sinks import JsonLinesSink, RecordSink, SpoolingSink

log = logging.getLogger("ivrflow.serve")
REPLAY_EVERY = 30.0  # seconds between attempts to move spooled records and callbacks home


@dataclass(frozen=True)
class ServeOptions:
    """What every gateway is told to serve: a flows directory, where to listen, and where
    the calls' records, callbacks and journal go (the command line's shared options)."""

    flows_dir: str | Path
    listen: str
    records: str | None = None  # JSON lines file
    callbacks: str | None = None  # SQLite database or postgresql:// URL
    callback_policy: Any = None  # the store's RetryPolicy (host.callback_rules)
    mask_ani: bool = False
    journal: str | None = None  # needs `records`
    metrics: str | None = None  # HOST:PORT of /metrics, /healthz, /readyz
    records_db: str | None = None  # a PostgreSQL DSN for the records (instead of `records`)
    records_spool: str = "records-db.spool"  # where records the database refused wait
    call_log: bool = True  # one JSON line per call start and end on stderr
    log_mask_ani: bool = False  # mask the ANI in that log (it is, too, with mask_ani)


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:4573`, `[::1]:4573` or just `4573` (on 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    return host.strip("[]") or "127.0.0.1", int(port)


def load_functions(engine: Engine, spec: str) -> None:
    """`module:ATTR`: a dict of look-up functions, or a callable that registers them."""
    module, _, attr = spec.partition(":")
    target = getattr(importlib.import_module(module), attr or "FUNCTIONS")
    if isinstance(target, dict):
        engine.functions.update(target)
    elif callable(target):
        target(engine)
    else:
        raise ValueError(f"--functions {spec}: not a dict nor a callable")


def fixtures_hook(path: str) -> Callable[[Engine, Flow], None]:
    """Answer every loaded flow's look-ups and queue status from a fixtures file."""
    from ..fixtures import install, load

    fixtures = load(path)

    def on_flow(engine: Engine, flow: Flow) -> None:
        install(engine, flow, fixtures)

    return on_flow


class Redact(logging.Filter):
    """Replaces secrets (auth tokens, passwords in URLs) in every log line, traceback included:
    a message built from an exception or a URL must not carry them to the log."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.clean(message), None
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        record.exc_info = None  # formatted (and cleaned) above
        return True


def url_password(url: str | None) -> list[str]:
    """The password in `redis://user:password@host/0` as written and decoded ([] if none)."""
    if not url:
        return []
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def redact_logs(*secrets: str | None) -> Redact:
    """Keep `secrets` out of every log handler there is (install after logging is set up)."""
    redact = Redact([s for s in secrets if s])
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(redact)
    return redact


@dataclass
class Host:
    flows_dir: Path
    host: str
    port: int
    engine: Engine
    callbacks: Any  # the store to close at the end, or None
    spools: list[Any] = field(default_factory=list)  # what `replay()`s when the store is back
    recovered: list[str] = field(default_factory=list)  # calls recovery wrote a record for
    metrics_listen: tuple[str, int] | None = None
    ops: Any = None  # the OpsServer, once started

    async def start_ops(self, required: dict[str, Check] | None = None) -> None:
        """Serve /metrics, /healthz and /readyz on --metrics, on the running loop."""
        if self.metrics_listen is None:
            return
        from ..ops_server import OpsServer

        self.ops = OpsServer(self.engine.metrics, required, engine_spools(self.engine))
        await self.ops.start(*self.metrics_listen)
        print(
            f"ivrflow: metrics on http://{self.metrics_listen[0]}:{self.ops.port}/metrics",
            file=sys.stderr,
            flush=True,
        )

    async def stop_ops(self) -> None:
        if self.ops is not None:
            await self.ops.close()
            self.ops = None

    def replay(self) -> int:
        """Move what the spools hold home; how many records and callbacks moved."""
        moved = 0
        for spool in self.spools:
            try:
                moved += spool.replay()
            except Exception as exc:  # still down: try again later
                log.warning("replay of %s: %s", spool.spool_path, exc)
        return moved

    async def keep_replaying(self, every: float = REPLAY_EVERY) -> None:
        """Replay the spools every `every` seconds (a task; cancel it to stop)."""
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self.replay)

    def close(self) -> None:
        if self.callbacks is not None:
            self.callbacks.close()
        if self.engine.journal is not None:
            self.engine.journal.close()


def callback_spool(options: ServeOptions) -> str:
    """Where requests the callback store refused wait: beside a SQLite file; beside the
    records (or in the working directory) for a PostgreSQL URL."""
    assert options.callbacks is not None
    if "://" not in options.callbacks:
        return f"{options.callbacks}.spool"
    return f"{options.records}.callbacks.spool" if options.records else "callbacks.spool"


def setup(
    options: ServeOptions, name: str, records: RecordSink, snapshot_key: Keyring | None = None
) -> Host | None:
    """The Engine for `ivrflow serve NAME`, or None after saying on stderr what is wrong.
    `records` is the sink when `options.records` names no file."""
    flows_dir = Path(options.flows_dir)
    if not flows_dir.is_dir():
        print(f"ivrflow serve {name}: {flows_dir} is not a directory", file=sys.stderr)
        return None
    try:
        host, port = parse_listen(options.listen)
    except ValueError:
        print(f"ivrflow serve {name}: bad --listen '{options.listen}'", file=sys.stderr)
        return None
    journal_path = options.journal
    if journal_path and not (options.records or options.records_db):
        print(f"ivrflow serve {name}: --journal needs --records", file=sys.stderr)
        return None
    if options.records_db is not None and not options.records_db:
        print(f"ivrflow serve {name}: --records-db env:…: the variable is empty", file=sys.stderr)
        return None
    if options.records and options.records_db:
        print(f"ivrflow serve {name}: --records or --records-db, not both", file=sys.stderr)
        return None
    metrics: Any = None
    metrics_listen = None
    if options.metrics:
        from .. import metrics as metrics_module

        if not metrics_module.available():
            print(metrics_module.MISSING, file=sys.stderr)
            return None
        try:
            metrics_listen = parse_listen(options.metrics)
        except ValueError:
            print(f"ivrflow serve {name}: bad --metrics '{options.metrics}'", file=sys.stderr)
            return None
        metrics = metrics_module.Metrics()
    spools: list[Any] = []
    try:
        if options.records:
            records = SpoolingSink(JsonLinesSink(options.records), f"{options.records}.spool")
            spools.append(records)
        elif options.records_db:
            from ..records_postgres import PostgresSink

            records = SpoolingSink(PostgresSink(options.records_db), options.records_spool)
            spools.append(records)
        callbacks: Any = None
        if options.callbacks:
            from ..callbacks import SpoolingStore, open_store

            callbacks = SpoolingStore(
                open_store(options.callbacks, policy=options.callback_policy),
                callback_spool(options),
            )
            spools.append(callbacks)
        journal = CallJournal(journal_path) if journal_path else None
    except Exception as exc:  # an unwritable records file, a broken database: say so, plainly
        print(f"ivrflow serve {name}: {exc}", file=sys.stderr)
        return None
    call_log = None
    if options.call_log:
        call_log = CallLog(sys.stderr, mask_ani=options.mask_ani or options.log_mask_ani)
    engine = Engine(
        records=records,
        callbacks=callbacks,
        mask_ani=options.mask_ani,
        snapshot_key=snapshot_key,
        journal=journal,
        metrics=metrics,
        call_log=call_log,
    )
    if callbacks is not None:  # an outbound callback's end records its attempt
        engine.on_finish.append(attempt_recorder(callbacks.inner))
    if metrics is not None:
        metrics.watch_spools(records=records, callbacks=callbacks)
    found = Host(flows_dir, host, port, engine, callbacks, spools, metrics_listen=metrics_listen)
    moved = found.replay()
    if moved:
        print(f"ivrflow: moved {moved} spooled records/callbacks home", file=sys.stderr)
    if journal is not None:
        found.recovered = recover_calls(journal, records, callbacks=callbacks)
        if found.recovered:
            print(
                f"ivrflow: recovery: {len(found.recovered)} calls left unfinished by the last "
                f"run got an `error` record",
                file=sys.stderr,
            )
    return found


__all__ = [
    "Host",
    "Redact",
    "ServeOptions",
    "redact_logs",
    "url_password",
    "fixtures_hook",
    "load_functions",
    "parse_listen",
    "setup",
]
