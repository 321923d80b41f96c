"""`ivrflow serve agi|webhook`: run flows behind telephony."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from typing import Any

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

NAME = "serve"
HELP = "run flows behind telephony: a FastAGI server for Asterisk, or a webhook"
DESCRIPTION = (
    "Serve the flows of a directory. `serve agi` is a FastAGI server for Asterisk: the dialplan "
    "runs AGI(agi://HOST:4573/FLOW?lang=pt-BR) and FLOWS_DIR/FLOW.ivr answers the call. "
    "`serve webhook` is an HTTP gateway for Twilio-style voice webhooks."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="gateway", metavar="GATEWAY")
    sub.required = True
    a = sub.add_parser("agi", help="a FastAGI server for Asterisk", description=DESCRIPTION)
    a.add_argument("flows_dir", metavar="FLOWS_DIR", help="the directory of .ivr flows")
    a.add_argument("--listen", default="127.0.0.1:4573", metavar="HOST:PORT")
    a.add_argument("--records", metavar="FILE", help="append call records (JSON lines)")
    a.add_argument("--callbacks", metavar="DB", help="SQLite database for callback requests")
    a.add_argument(
        "--fixtures",
        metavar="FILE",
        help="answer look-ups and queue status from a fixtures file (YAML), for labs and demos",
    )
    a.add_argument(
        "--functions",
        metavar="MODULE:ATTR",
        help="a dict of look-up functions, or a callable taking the Engine to register them",
    )
    a.add_argument("--sounds-dir", metavar="DIR", help="rendered prompts (espeak-ng + sox)")
    a.add_argument(
        "--asterisk-sounds-dir",
        metavar="PATH",
        help="the sounds dir as Asterisk sees it (default: the absolute --sounds-dir)",
    )
    a.add_argument(
        "--fallback-sound",
        default="beep",
        metavar="NAME",
        help="streamed when a text prompt has no audio ('' for none; default: beep)",
    )
    a.add_argument(
        "--dial",
        default="PJSIP/{number}",
        metavar="TEMPLATE",
        help="Dial() string for number transfers (default: PJSIP/{number})",
    )
    a.add_argument("--queue-options", default="", metavar="OPTS", help="Queue() options")
    a.add_argument(
        "--shutdown-deadline",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long calls in flight may take to finish",
    )
    a.add_argument("--mask-ani", action="store_true", help="mask caller numbers in records")
    from importlib.util import find_spec

    if find_spec("ivrflow.gateways.webhook") is not None:
        webhook = importlib.import_module("ivrflow.gateways.webhook")
        w = sub.add_parser("webhook", help="an HTTP gateway for voice webhooks")
        webhook.add_arguments(w)


def run(args: argparse.Namespace) -> int:
    if args.gateway == "webhook":
        webhook = importlib.import_module("ivrflow.gateways.webhook")
        result: int = webhook.run(args)
        return result
    import asyncio

    try:
        return asyncio.run(_serve_agi(args))
    except KeyboardInterrupt:
        return EXIT_OK


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    return host.strip("[]") or "127.0.0.1", int(port)


async def _serve_agi(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    from pathlib import Path

    from ..engine import Engine
    from ..gateways.fastagi import FastAGIServer, ServerConfig
    from ..records import JsonLinesSink, RecordSink

    flows_dir = Path(args.flows_dir)
    if not flows_dir.is_dir():
        print(f"ivrflow serve agi: {flows_dir} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        host, port = _listen(args.listen)
    except ValueError:
        print(f"ivrflow serve agi: bad --listen '{args.listen}'", file=sys.stderr)
        return EXIT_USAGE
    records: RecordSink = JsonLinesSink(args.records) if args.records else _LogSink()
    callbacks: Any = None
    if args.callbacks:
        from ..callbacks import SQLiteCallbackStore

        callbacks = SQLiteCallbackStore(args.callbacks)
    engine = Engine(records=records, callbacks=callbacks, mask_ani=args.mask_ani)
    config = ServerConfig(
        flows_dir=flows_dir,
        sounds_dir=Path(args.sounds_dir) if args.sounds_dir else None,
        asterisk_sounds_dir=args.asterisk_sounds_dir,
        fallback_sound=args.fallback_sound or None,
        dial_string=args.dial,
        queue_options=args.queue_options,
    )
    server = FastAGIServer(engine, config)
    try:
        _configure_functions(server, engine, args)
    except Exception as exc:
        print(f"ivrflow serve agi: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        await server.start(host, port)
    except OSError as exc:
        print(f"ivrflow serve agi: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"ivrflow: FastAGI on {host}:{server.port}, flows from {flows_dir}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("ivrflow: stopping; letting calls in flight finish", file=sys.stderr)
    await server.close(args.shutdown_deadline)
    if callbacks is not None:
        callbacks.close()
    return EXIT_OK


class _LogSink:
    """Without --records, a finished call is one line on standard error (nothing kept)."""

    def write(self, record: dict[str, Any]) -> None:
        outcome = record.get("outcome") or {}
        print(f"ivrflow: call {record.get('call_id')} {outcome.get('kind')}", file=sys.stderr)


def _configure_functions(server: Any, engine: Any, args: argparse.Namespace) -> None:
    if args.functions:
        module, _, attr = args.functions.partition(":")
        target = getattr(importlib.import_module(module), attr or "FUNCTIONS")
        if isinstance(target, dict):
            engine.functions.update(target)
        elif callable(target):
            target(engine)
        else:
            raise ValueError(f"--functions {args.functions}: not a dict nor a callable")
    if args.fixtures:
        from ..fixtures import install, load

        fixtures = load(args.fixtures)

        def on_flow(engine: Any, flow: Any) -> None:
            install(engine, flow, fixtures)

        server.on_flow = on_flow


__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]
