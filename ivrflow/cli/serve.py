"""`ivrflow serve agi|webhook`: run flows behind telephony."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import ipaddress
import sys
from typing import Any

from ..host.gateways import hosting
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
    hosting.add_arguments(a, "127.0.0.1:4573")
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
        "--allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="accept FastAGI connections only from these networks (repeatable, e.g. "
        "10.0.0.0/24); others are closed at once and logged (default: anyone who can connect)",
    )
    a.add_argument(
        "--shutdown-deadline",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long calls in flight may take to finish",
    )
    from importlib.util import find_spec

    if find_spec("ivrflow.host.gateways.webhook") is not None:
        webhook = importlib.import_module("ivrflow.host.gateways.webhook")
        w = sub.add_parser("webhook", help="an HTTP gateway for voice webhooks")
        webhook.add_arguments(w)


def run(args: argparse.Namespace) -> int:
    if args.gateway == "webhook":
        webhook = importlib.import_module("ivrflow.host.gateways.webhook")
        result: int = webhook.run(args)
        return result
    import asyncio

    try:
        return asyncio.run(_serve_agi(args))
    except KeyboardInterrupt:
        return EXIT_OK


async def _serve_agi(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    from pathlib import Path

    from ..host.gateways.fastagi import FastAGIServer, ServerConfig

    try:
        allow = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in args.allow)
    except ValueError as exc:
        print(f"ivrflow serve agi: bad --allow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    found = hosting.setup(args, "agi", _LogSink())
    if found is None:
        return EXIT_USAGE
    flows_dir, host, port, engine = found.flows_dir, found.host, found.port, found.engine
    config = ServerConfig(
        flows_dir=flows_dir,
        sounds_dir=Path(args.sounds_dir) if args.sounds_dir else None,
        asterisk_sounds_dir=args.asterisk_sounds_dir,
        fallback_sound=args.fallback_sound or None,
        dial_string=args.dial,
        queue_options=args.queue_options,
        allow=allow,
    )
    server = FastAGIServer(engine, config)
    try:
        _configure_functions(server, engine, args)
    except Exception as exc:
        print(f"ivrflow serve agi: {exc}", file=sys.stderr)
        found.close()
        return EXIT_FAILED
    try:
        await server.start(host, port)
    except OSError as exc:
        print(f"ivrflow serve agi: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        found.close()
        return EXIT_FAILED
    peers = ", ".join(str(n) for n in allow) if allow else "any peer"
    print(
        f"ivrflow: FastAGI on {host}:{server.port}, flows from {flows_dir}, accepting {peers}",
        file=sys.stderr,
        flush=True,
    )
    replaying = asyncio.create_task(found.keep_replaying())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("ivrflow: stopping; letting calls in flight finish", file=sys.stderr)
    await server.close(args.shutdown_deadline)
    replaying.cancel()
    found.replay()
    found.close()
    return EXIT_OK


class _LogSink:
    """Without --records, a finished call is one line on standard error (nothing kept)."""

    def write(self, record: dict[str, Any]) -> None:
        outcome = record.get("outcome") or {}
        print(f"ivrflow: call {record.get('call_id')} {outcome.get('kind')}", file=sys.stderr)


def _configure_functions(server: Any, engine: Any, args: argparse.Namespace) -> None:
    if args.functions:
        hosting.load_functions(engine, args.functions)
    if args.fixtures:
        server.on_flow = hosting.fixtures_hook(args.fixtures)


__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]
