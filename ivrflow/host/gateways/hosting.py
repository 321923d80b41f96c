"""What every gateway command shares: where the flows are, where to listen, and the Engine
with its record sink, callback store and look-up functions (or fixtures).

Nothing a call produced may be lost to a sick disk or a crash: the records file sits behind a
spool (`FILE.spool`) that keeps what the file refused, the callback database likewise
(`DB.spool`), both replayed at start-up, after the next success and every `REPLAY_EVERY`
seconds; with `--journal`, calls a crashed server left unfinished get their `error` record
when the server starts again."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...model import Flow
from ..engine import Engine
from ..journal import CallJournal, recover_calls
from ..sinks import JsonLinesSink, RecordSink, SpoolingSink

log = logging.getLogger("ivrflow.serve")
REPLAY_EVERY = 30.0  # seconds between attempts to move spooled records and callbacks home


def add_arguments(p: argparse.ArgumentParser, listen: str) -> None:
    p.add_argument("flows_dir", metavar="FLOWS_DIR", help="the directory of .ivr flows")
    p.add_argument("--listen", default=listen, metavar="HOST:PORT")
    p.add_argument("--records", metavar="FILE", help="append call records (JSON lines)")
    p.add_argument("--callbacks", metavar="DB", help="SQLite database for callback requests")
    p.add_argument(
        "--fixtures",
        metavar="FILE",
        help="answer look-ups and queue status from a fixtures file (YAML), for labs and demos",
    )
    p.add_argument(
        "--functions",
        metavar="MODULE:ATTR",
        help="a dict of look-up functions, or a callable taking the Engine to register them",
    )
    p.add_argument("--mask-ani", action="store_true", help="mask caller numbers in records")
    p.add_argument(
        "--journal",
        metavar="FILE",
        help="journal call starts and ends (fsynced); on start, calls a crash left unfinished "
        "get an `error` record (needs --records)",
    )


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


def setup(
    args: argparse.Namespace, name: str, records: RecordSink, snapshot_key: bytes | None = None
) -> Host | None:
    """The Engine for `ivrflow serve NAME`, or None after saying on stderr what is wrong."""
    flows_dir = Path(args.flows_dir)
    if not flows_dir.is_dir():
        print(f"ivrflow serve {name}: {flows_dir} is not a directory", file=sys.stderr)
        return None
    try:
        host, port = parse_listen(args.listen)
    except ValueError:
        print(f"ivrflow serve {name}: bad --listen '{args.listen}'", file=sys.stderr)
        return None
    journal_path = getattr(args, "journal", None)
    if journal_path and not args.records:
        print(f"ivrflow serve {name}: --journal needs --records", file=sys.stderr)
        return None
    spools: list[Any] = []
    try:
        if args.records:
            records = SpoolingSink(JsonLinesSink(args.records), f"{args.records}.spool")
            spools.append(records)
        callbacks: Any = None
        if args.callbacks:
            from ..callbacks import SpoolingStore, SQLiteCallbackStore

            callbacks = SpoolingStore(
                SQLiteCallbackStore(args.callbacks), f"{args.callbacks}.spool"
            )
            spools.append(callbacks)
        journal = CallJournal(journal_path) if journal_path else None
    except Exception as exc:  # an unwritable records file, a broken database: say so, plainly
        print(f"ivrflow serve {name}: {exc}", file=sys.stderr)
        return None
    engine = Engine(
        records=records,
        callbacks=callbacks,
        mask_ani=args.mask_ani,
        snapshot_key=snapshot_key,
        journal=journal,
    )
    found = Host(flows_dir, host, port, engine, callbacks, spools)
    moved = found.replay()
    if moved:
        print(f"ivrflow: moved {moved} spooled records/callbacks home", file=sys.stderr)
    if journal is not None:
        found.recovered = recover_calls(journal, records)
        if found.recovered:
            print(
                f"ivrflow: recovery: {len(found.recovered)} calls left unfinished by the last "
                f"run got an `error` record",
                file=sys.stderr,
            )
    return found


__all__ = [
    "Redact",
    "redact_logs",
    "url_password",
    "Host",
    "add_arguments",
    "fixtures_hook",
    "load_functions",
    "parse_listen",
    "setup",
]
