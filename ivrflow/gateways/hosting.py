"""What every gateway command shares: where the flows are, where to listen, and the Engine
with its record sink, callback store and look-up functions (or fixtures)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..model import Flow
from ..records import JsonLinesSink, RecordSink


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


@dataclass
class Host:
    flows_dir: Path
    host: str
    port: int
    engine: Engine
    callbacks: Any  # the store to close at the end, or None


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
    if args.records:
        records = JsonLinesSink(args.records)
    callbacks: Any = None
    if args.callbacks:
        from ..callbacks import SQLiteCallbackStore

        callbacks = SQLiteCallbackStore(args.callbacks)
    engine = Engine(
        records=records, callbacks=callbacks, mask_ani=args.mask_ani, snapshot_key=snapshot_key
    )
    return Host(flows_dir, host, port, engine, callbacks)


__all__ = ["Host", "add_arguments", "fixtures_hook", "load_functions", "parse_listen", "setup"]
