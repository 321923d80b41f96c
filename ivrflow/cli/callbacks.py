"""`ivrflow callbacks list|show|cancel|retry|run`: the stored callback requests, and the
dispatcher that calls customers back (docs/operations.md, "Callbacks").

Exit codes: 0 done, 1 a request was not found or not changed (or the store failed), 2 usage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from ..host.callback_lifecycle import LifecycleStore
    from ..host.callback_rules import RetryPolicy

NAME = "callbacks"
HELP = "list, show, cancel and retry stored callbacks; run the dispatcher that calls back"
DESCRIPTION = (
    "The callback requests of a store (a SQLite file or a postgresql:// URL) and the "
    "dispatcher that keeps them: `run` claims due requests, places each call through a "
    "Twilio-style REST API (the flow runs on `ivrflow serve webhook`) or Asterisk's AMI "
    "(`--dialer asterisk`, the flow runs on `ivrflow serve agi`). Numbers are "
    "masked unless --show-numbers."
)


def add_store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", required=True, metavar="DB", help="SQLite file or postgresql:// URL")
    p.add_argument("--schema", metavar="NAME", help="PostgreSQL schema of the tables")


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """How requests are dialled back: delays, attempts, hours (the store applies them)."""
    p.add_argument("--initial-delay", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--retry-delay", type=float, default=300.0, metavar="SECONDS")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N")
    p.add_argument(
        "--expire-after",
        type=float,
        default=86400.0,
        metavar="SECONDS",
        help="a request without a window expires this long after it was made (default 1 day)",
    )
    p.add_argument(
        "--hours",
        metavar="FLOW:NAME",
        help="call only while these hours are open (holidays closed), e.g. "
        "flows/callback_invoice.ivr:callback_window",
    )
    p.add_argument("--lease", type=float, default=120.0, metavar="SECONDS")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="stored requests, newest first")
    add_store_arguments(ls)
    ls.add_argument("--state", help="pending, dialing, completed, exhausted, cancelled, expired")
    ls.add_argument("--queue")
    ls.add_argument("--since", metavar="TIME", help="requested at or after (ISO date/time)")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.add_argument("--show-numbers", action="store_true", help="print numbers unmasked")
    show = sub.add_parser("show", help="one request with every attempt")
    add_store_arguments(show)
    show.add_argument("call_id", metavar="CALL_ID")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.add_argument("--show-numbers", action="store_true")
    for name, what in (("cancel", "cancel open requests"), ("retry", "ring again now")):
        q = sub.add_parser(name, help=what)
        add_store_arguments(q)
        q.add_argument("call_ids", nargs="+", metavar="CALL_ID")
        if name == "retry":
            q.add_argument("--max-attempts", type=int, default=3, metavar="N")
    run = sub.add_parser("run", help="dispatch due callbacks until stopped")
    add_store_arguments(run)
    add_policy_arguments(run)
    add_dialer_arguments(run)
    run.add_argument("--poll", type=float, default=1.0, metavar="SECONDS")
    run.add_argument("--batch", type=int, default=10)
    run.add_argument("--max-in-flight", type=int, default=20, metavar="N")


def add_dialer_arguments(p: argparse.ArgumentParser) -> None:
    """The Twilio-style REST dialer's options (shared with `serve webhook --dispatch`)."""
    p.add_argument("--api-url", default=None, metavar="URL", help="default: Twilio's API")
    p.add_argument(
        "--account-sid-env",
        default="TWILIO_ACCOUNT_SID",
        metavar="NAME",
        help="environment variable with the account SID (default TWILIO_ACCOUNT_SID)",
    )
    p.add_argument(
        "--api-token-env",
        default="TWILIO_AUTH_TOKEN",
        metavar="NAME",
        help="environment variable with the API's auth token (default TWILIO_AUTH_TOKEN)",
    )
    p.add_argument("--from", dest="from_number", metavar="NUMBER", help="caller id to show")
    p.add_argument(
        "--webhook-url", metavar="URL", help="where the provider reaches `serve webhook`"
    )
    p.add_argument("--outbound-flow", metavar="NAME", help="the flow the answered call runs")
    p.add_argument("--no-machine-detection", action="store_true")
    p.add_argument(
        "--machine-message",
        metavar="SOUND",
        help="asterisk dialer: a sound Asterisk leaves on an answering machine (default: none)",
    )
    p.add_argument("--ring-timeout", type=int, default=30, metavar="SECONDS")
    p.add_argument(
        "--dialer",
        choices=("rest", "asterisk"),
        default="rest",
        help="rest: a Twilio-style API (default); asterisk: AMI Originate (--ami-*)",
    )
    p.add_argument("--ami", default="127.0.0.1:5038", metavar="HOST:PORT", help="Asterisk's AMI")
    p.add_argument("--ami-user", default="ivrflow", metavar="NAME")
    p.add_argument(
        "--ami-secret-env",
        default="IVRFLOW_AMI_SECRET",
        metavar="NAME",
        help="environment variable with the AMI user's secret (default IVRFLOW_AMI_SECRET)",
    )
    p.add_argument(
        "--ami-channel",
        metavar="DIAL",
        help="the customer's dial string, {number} filled in: PJSIP/{number}@trunk",
    )
    p.add_argument(
        "--ami-context", default="ivrflow-callback", metavar="NAME", help="where answered calls go"
    )
    p.add_argument(
        "--agent-first",
        metavar="QUEUE",
        help="asterisk dialer: reach an agent in this Asterisk queue first, then ring the customer",
    )
    p.add_argument(
        "--agent-wait", type=int, default=300, metavar="SECONDS",
        help="agent first: how long an attempt waits for an agent (default: 300)",
    )  # fmt: skip
    p.add_argument(
        "--whisper", metavar="SOUND", help="agent first: a sound the agent hears before the ring"
    )


def policy_from(args: argparse.Namespace) -> RetryPolicy:
    from ..host.callback_rules import RetryPolicy

    hours = None
    if getattr(args, "hours", None):
        from ..compiler import load

        path, sep, name = args.hours.rpartition(":")
        if not sep:
            raise ValueError("--hours wants FLOW:NAME, e.g. flows/callback_invoice.ivr:office")
        flow = load(path)
        if name not in flow.hours:
            raise ValueError(f"--hours: {path} has no hours '{name}'")
        hours = flow.hours[name]
    return RetryPolicy(
        initial_delay=getattr(args, "initial_delay", 0.0),
        retry_delay=getattr(args, "retry_delay", 300.0),
        max_attempts=getattr(args, "max_attempts", 3),
        expire_after=getattr(args, "expire_after", 86400.0),
        hours=hours,
        lease=getattr(args, "lease", 120.0),
    )


def dialer_from(
    args: argparse.Namespace, flow: str | None = None, store: LifecycleStore | None = None
) -> Any:
    """The dialer the options describe; ValueError says what is missing."""
    if getattr(args, "dialer", "rest") == "asterisk":
        return ami_dialer_from(args, flow, store)
    from ..host.gateways.rest_dialer import TWILIO_API, RestDialer

    sid = os.environ.get(args.account_sid_env, "")
    token = os.environ.get(args.api_token_env, "")
    missing = [
        what
        for what, value in (
            (f"${args.account_sid_env}", sid),
            (f"${args.api_token_env}", token),
            ("--from", args.from_number),
            ("--webhook-url", args.webhook_url),
            ("--outbound-flow", flow or args.outbound_flow),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"the REST dialer needs {', '.join(missing)}")
    return RestDialer(
        account_sid=sid,
        auth_token=token,
        from_number=args.from_number,
        webhook_url=args.webhook_url,
        flow=flow or args.outbound_flow,
        base_url=args.api_url or TWILIO_API,
        machine_detection=not args.no_machine_detection,
        ring_timeout=args.ring_timeout,
    )


def ami_dialer_from(
    args: argparse.Namespace, flow: str | None, store: LifecycleStore | None
) -> Any:
    """The Asterisk (AMI Originate) dialer; it records the rings that were not answered."""
    from ..host.gateways.ami_dialer import AmiDialer

    secret = os.environ.get(args.ami_secret_env, "")
    host, sep, port = args.ami.rpartition(":")
    missing = [
        what
        for what, value in (
            (f"${args.ami_secret_env}", secret),
            ("--ami-channel with {number}", "{number}" in (args.ami_channel or "")),
            ("--outbound-flow", flow or args.outbound_flow),
            ("--ami HOST:PORT", sep and port.isdigit()),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"the Asterisk dialer needs {', '.join(missing)}")
    return AmiDialer(
        host=host or "127.0.0.1",
        port=int(port),
        username=args.ami_user,
        secret=secret,
        channel=args.ami_channel,
        flow=flow or args.outbound_flow,
        store=store,
        context=args.ami_context,
        caller_id=args.from_number,
        ring_timeout=args.ring_timeout,
        machine_detection=not args.no_machine_detection,
        machine_message=args.machine_message,
        agent_first=args.agent_first,
        agent_wait=args.agent_wait,
        whisper=args.whisper,
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..host.callbacks import CallbackStoreError, open_store

    out, err = out or sys.stdout, err or sys.stderr
    try:
        policy = policy_from(args)
    except (ValueError, OSError) as exc:
        err.write(f"ivrflow callbacks: {exc}\n")
        return EXIT_USAGE
    except Exception as exc:  # a flow that does not compile
        err.write(f"ivrflow callbacks: --hours: {str(exc)[:300]}\n")
        return EXIT_USAGE
    try:
        store = open_store(args.store, policy=policy, schema=args.schema)
    except CallbackStoreError as exc:
        err.write(f"ivrflow callbacks: {exc}\n")
        return EXIT_FAILED
    try:
        if args.action == "run":
            return _run_dispatcher(args, store, err)
        return ACTIONS[args.action](args, store, out, err)
    except CallbackStoreError as exc:
        err.write(f"ivrflow callbacks: {exc}\n")
        return EXIT_FAILED
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


def _list(args: argparse.Namespace, store: LifecycleStore, out: TextIO, err: TextIO) -> int:
    from ..host.callback_lifecycle import iter_lines
    from ..host.callback_types import CallbackStoreError

    since = None
    if args.since:
        import datetime as dt

        try:
            moment = dt.datetime.fromisoformat(args.since)
        except ValueError:
            err.write(f"ivrflow callbacks: --since: not an ISO date/time: {args.since!r}\n")
            return EXIT_USAGE
        since = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()
    try:
        entries = store.entries(state=args.state, queue=args.queue, since=since, limit=args.limit)
    except CallbackStoreError as exc:
        err.write(f"ivrflow callbacks: {exc}\n")
        return EXIT_USAGE if "unknown state" in str(exc) else EXIT_FAILED
    if args.format == "json":
        rows = [e.as_dict(masked=not args.show_numbers) for e in entries]
        out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    if args.show_numbers:
        for e in entries:
            out.write(f"{e.request.call_id}\t{e.state}\t{e.request.number}\n")
        return EXIT_OK
    for line in iter_lines(entries):
        out.write(line + "\n")
    return EXIT_OK


def _show(args: argparse.Namespace, store: LifecycleStore, out: TextIO, err: TextIO) -> int:
    entry = store.entry(args.call_id)
    if entry is None:
        err.write(f"ivrflow callbacks: no callback request for call id {args.call_id!r}\n")
        return EXIT_FAILED
    data = entry.as_dict(masked=not args.show_numbers)
    if args.format == "json":
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return EXIT_OK
    for key in ("call_id", "state", "number", "queue", "flow", "priority", "window", "attempts"):
        out.write(f"{key:<12} {data[key]}\n")
    for a in entry.history:
        out.write(
            f"  attempt {a.number}: {a.outcome or 'in progress'}"
            + (f" ({a.detail})" if a.detail else "")
            + (f" by {a.dispatcher}" if a.dispatcher else "")
            + "\n"
        )
    return EXIT_OK


def _change(args: argparse.Namespace, store: LifecycleStore, out: TextIO, err: TextIO) -> int:
    from ..host.callback_types import CallbackStoreError

    verb = store.cancel if args.action == "cancel" else store.retry
    status = EXIT_OK
    for call_id in args.call_ids:
        try:
            changed = verb(call_id)
        except CallbackStoreError as exc:
            err.write(f"ivrflow callbacks: {exc}\n")
            status = EXIT_FAILED
            continue
        if changed:
            out.write(f"{call_id}: {'cancelled' if args.action == 'cancel' else 'due now'}\n")
        else:
            why = "already final" if args.action == "cancel" else "an attempt is ringing"
            err.write(f"ivrflow callbacks: {call_id}: not changed ({why})\n")
            status = EXIT_FAILED
    return status


ACTIONS = {"list": _list, "show": _show, "cancel": _change, "retry": _change}


def _run_dispatcher(args: argparse.Namespace, store: LifecycleStore, err: TextIO) -> int:
    import asyncio
    import logging
    import signal

    from ..host.dispatcher import Dispatcher

    try:
        dialer = dialer_from(args, store=store)
    except ValueError as exc:
        err.write(f"ivrflow callbacks run: {exc}\n")
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    dispatcher = Dispatcher(
        store, dialer, poll=args.poll, batch=args.batch, max_in_flight=args.max_in_flight
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await dispatcher.run(stop)
        finally:
            await dialer.close()

    asyncio.run(main())
    return EXIT_OK


__all__ = ["add_dialer_arguments", "add_policy_arguments", "dialer_from", "policy_from"]
