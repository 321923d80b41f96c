"""`ivrflow serve agi|webhook`: run flows behind telephony.

Every gateway's command line is here (the gateways take plain options): the options they
share, `serve agi` and `serve webhook`. The webhook's aiohttp and redis are an optional
extra; without them `serve webhook` says how to install them, and the rest works."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import sys
from importlib.util import find_spec
from typing import Any

from ..host.gateways import hosting
from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from .prompts import add_cache_options

NAME = "serve"
HELP = "run flows behind telephony: a FastAGI server for Asterisk, or a webhook"
DESCRIPTION = (
    "Serve the flows of a directory. `serve agi` is a FastAGI server for Asterisk: the dialplan "
    "runs AGI(agi://HOST:4573/FLOW?lang=pt-BR) and FLOWS_DIR/FLOW.ivr answers the call. "
    "`serve webhook` is an HTTP gateway for Twilio-style voice webhooks."
)


def add_shared_arguments(p: argparse.ArgumentParser, listen: str) -> None:
    """The options of every gateway: flows, where to listen, records, callbacks, journal."""
    add_callback_policy(p)
    p.add_argument("flows_dir", metavar="FLOWS_DIR", help="the directory of .ivr flows")
    p.add_argument("--listen", default=listen, metavar="HOST:PORT")
    p.add_argument("--records", metavar="FILE", help="append call records (JSON lines)")
    p.add_argument(
        "--records-db",
        metavar="DSN",
        help="write call records to PostgreSQL instead (postgresql://user@host/db, or env:NAME "
        "to read the DSN and its password from an environment variable; needs "
        "ivrflow[postgres])",
    )
    p.add_argument(
        "--records-spool",
        default="records-db.spool",
        metavar="FILE",
        help="where records the database refused wait for it (default: records-db.spool)",
    )
    p.add_argument(
        "--callbacks", metavar="DB", help="callback requests: a SQLite file or a postgresql:// URL"
    )
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
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus /metrics, /healthz and /readyz there (keep it private; needs "
        "ivrflow[metrics])",
    )
    p.add_argument(
        "--call-log",
        choices=["json", "off"],
        default="json",
        help="one JSON line per call start and end on standard error (default: json)",
    )
    p.add_argument(
        "--log-mask-ani",
        action="store_true",
        help="mask caller numbers in the call log (they are, too, with --mask-ani)",
    )


def add_callback_policy(p: argparse.ArgumentParser) -> None:
    """How stored callbacks are retried (the outbound calls this server runs record their
    attempts with it); the same options as `ivrflow callbacks run`."""
    from .callbacks import add_policy_arguments

    add_policy_arguments(p.add_argument_group("callback retries"))  # type: ignore[arg-type]


def serve_options(args: argparse.Namespace) -> hosting.ServeOptions:
    """The shared options, as the gateways take them."""
    return hosting.ServeOptions(
        flows_dir=args.flows_dir,
        listen=args.listen,
        records=args.records,
        callbacks=args.callbacks,
        mask_ani=args.mask_ani,
        journal=args.journal,
        metrics=args.metrics,
        records_db=records_dsn(args.records_db),
        records_spool=args.records_spool,
        call_log=args.call_log == "json",
        log_mask_ani=args.log_mask_ani,
        callback_policy=_callback_policy(args),
    )


def _callback_policy(args: argparse.Namespace) -> Any:
    from .callbacks import policy_from

    try:
        return policy_from(args)
    except Exception as exc:  # a bad --hours: say so before anything starts
        print(f"ivrflow serve: {str(exc)[:300]}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def records_dsn(value: str | None) -> str | None:
    """`--records-db`: a DSN, or `env:NAME` (the DSN from that environment variable)."""
    if value and value.startswith("env:"):
        import os

        return os.environ.get(value[4:], "")  # "" when unset: setup says so
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="gateway", metavar="GATEWAY")
    sub.required = True
    a = sub.add_parser("agi", help="a FastAGI server for Asterisk", description=DESCRIPTION)
    add_shared_arguments(a, "127.0.0.1:4573")
    a.add_argument("--sounds-dir", metavar="DIR", help="rendered prompts (espeak-ng + sox)")
    a.add_argument(
        "--asterisk-sounds-dir",
        metavar="PATH",
        help="the sounds dir as Asterisk sees it (default: the absolute --sounds-dir)",
    )
    add_cache_options(a)
    a.add_argument(
        "--fallback-sound",
        default="beep",
        metavar="NAME",
        help="streamed when a text prompt has no audio ('' for none; default: beep)",
    )
    a.add_argument(
        "--dial",
        action="append",
        default=[],
        metavar="[KIND=]TEMPLATE",
        help="Dial() arguments per destination kind (repeatable): number=PJSIP/{number}@trunk, "
        "sip=PJSIP/trunk/{uri} ({user}, {host}), extension=Local/{extension}@{context}; a bare "
        "template is the number one (defaults: PJSIP/{number}, Local/{extension}@{context} with "
        "the call's context; SIP needs one)",
    )
    a.add_argument("--queue-options", default="", metavar="OPTS", help="Queue() options")
    a.add_argument(
        "--recordings",
        metavar="DIR",
        help="where `record` states' messages go (RECORD FILE writes there; default: recordings)",
    )
    a.add_argument(
        "--asterisk-recordings",
        metavar="DIR",
        help="the --recordings dir as Asterisk sees it (a chroot, a container)",
    )
    a.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="accept FastAGI connections only from these networks (repeatable, e.g. "
        "10.0.0.0/24); others are closed at once and logged (default: anyone who can connect)",
    )
    v = a.add_argument_group("speech (the voicebot; pip install 'ivrflow[voice]')")
    v.add_argument(
        "--speech",
        action="append",
        default=[],
        metavar="LANG",
        help="recognize callers speaking LANG (repeatable; en-US's model ships with "
        "pocketsphinx): states that listen for speech get caller audio through AudioSocket",
    )
    v.add_argument(
        "--speech-model",
        action="append",
        default=[],
        metavar="LANG=DIR",
        help="a pocketsphinx model folder for LANG (acoustic model folder + .dict [+ .lm.bin])",
    )
    v.add_argument(
        "--media-listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where the AudioSocket media server listens (default: a free port on loopback)",
    )
    v.add_argument(
        "--media-address",
        default="",
        metavar="HOST:PORT",
        help="the media server as Asterisk reaches it (default: --media-listen's address)",
    )
    v.add_argument(
        "--end-of-speech",
        type=float,
        default=0.6,
        metavar="SECONDS",
        help="silence that ends an utterance, unless the state says (default: 0.6)",
    )
    a.add_argument(
        "--shutdown-deadline",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long calls in flight may take to finish",
    )
    w = sub.add_parser("webhook", help="an HTTP gateway for voice webhooks")
    add_webhook_arguments(w)


def run(args: argparse.Namespace) -> int:
    if args.gateway == "webhook":
        return run_webhook(args)
    import asyncio

    try:
        return asyncio.run(_serve_agi(args))
    except KeyboardInterrupt:
        return EXIT_OK


async def _serve_agi(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    from pathlib import Path

    from ..host.gateways.dialstrings import DialTemplateError, DialTemplates
    from ..host.gateways.fastagi import FastAGIServer, ServerConfig

    try:
        allow = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in args.allow)
    except ValueError as exc:
        print(f"ivrflow serve agi: bad --allow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        dial = DialTemplates.parse(args.dial)
    except DialTemplateError as exc:
        print(f"ivrflow serve agi: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = serve_options(args)
    hosting.redact_logs(*hosting.url_password(options.records_db))
    found = hosting.setup(options, "agi", _NullSink() if options.call_log else _LogSink())
    if found is None:
        return EXIT_USAGE
    flows_dir, host, port, engine = found.flows_dir, found.host, found.port, found.engine
    config = ServerConfig(
        flows_dir=flows_dir,
        sounds_dir=Path(args.sounds_dir) if args.sounds_dir else None,
        asterisk_sounds_dir=args.asterisk_sounds_dir,
        fallback_sound=args.fallback_sound or None,
        cache_max_bytes=args.prompt_cache_size,
        cache_max_age=args.prompt_cache_age,
        dial=dial,
        queue_options=args.queue_options,
        allow=allow,
    )
    if args.recordings:
        from ..host.recordings import DirectoryRecordingStore

        engine.recordings = DirectoryRecordingStore(Path(args.recordings).absolute())
        if args.asterisk_recordings:
            config.recordings_seen_as = (
                str(Path(args.recordings).absolute()),
                args.asterisk_recordings,
            )
    if args.speech or args.speech_model:
        from ..host.gateways.voice import voice_settings
        from ..host.voice.recognizer import SpeechSetupError

        try:
            config.voice = voice_settings(
                args.speech or [m.partition("=")[0] for m in args.speech_model],
                args.speech_model,
                media_listen=args.media_listen,
                media_address=args.media_address,
                end_silence=args.end_of_speech,
            )
        except SpeechSetupError as exc:
            print(f"ivrflow serve agi: {exc}", file=sys.stderr)
            found.close()
            return EXIT_USAGE
    server = FastAGIServer(engine, config)
    served: list[Any] = []
    if config.sounds_dir is not None:
        from . import prompts

        served = prompts.served_flows(engine, flows_dir)
        if not prompts.check_agi(server.renderer, served, args.prompt_language):
            found.close()
            return EXIT_FAILED
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
    if config.voice is not None:
        languages = ", ".join(config.voice.recognizers.languages)
        print(
            f"ivrflow: speech ({languages}) through AudioSocket at {config.voice.media_address}",
            file=sys.stderr,
            flush=True,
        )
    try:
        await found.start_ops()
    except OSError as exc:
        print(f"ivrflow serve agi: cannot serve --metrics: {exc}", file=sys.stderr)
        await server.close(0)
        found.close()
        return EXIT_FAILED
    replaying = asyncio.create_task(found.keep_replaying())
    prerendering: asyncio.Task[None] | None = None
    if config.sounds_dir is not None:
        from .prompts import prerender_agi

        prerendering = asyncio.create_task(
            prerender_agi(server.renderer, served, args.prompt_language)
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("ivrflow: stopping; letting calls in flight finish", file=sys.stderr)
    await server.close(args.shutdown_deadline)
    await found.stop_ops()
    replaying.cancel()
    if prerendering is not None:
        prerendering.cancel()
    found.replay()
    found.close()
    return EXIT_OK


class _NullSink:
    """Without --records but with the call log: the log's end line says it all."""

    blocking = False

    def write(self, record: dict[str, Any]) -> None:
        pass


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


# ---------------------------------------------------------------- serve webhook
WEBHOOK_MISSING = (
    "ivrflow serve webhook needs aiohttp (and redis for --redis): install ivrflow[webhook]"
)


def add_webhook_arguments(p: argparse.ArgumentParser) -> None:
    add_shared_arguments(p, "127.0.0.1:8080")
    from .callbacks import add_dialer_arguments

    p.add_argument(
        "--dispatch",
        action="store_true",
        help="also run the callback dispatcher (needs --callbacks and the dialer's options)",
    )
    add_dialer_arguments(p.add_argument_group("callback dialer (with --dispatch)"))  # type: ignore[arg-type]
    p.add_argument(
        "--redis",
        metavar="URL",
        help="keep calls in Redis (redis://host:6379/0) so several workers can serve them",
    )
    p.add_argument(
        "--session-ttl", type=int, default=4 * 3600, metavar="SECONDS", help="call state TTL"
    )
    p.add_argument(
        "--auth-token-env",
        default="TWILIO_AUTH_TOKEN",
        metavar="NAME",
        help="environment variable holding the auth token; when set, X-Twilio-Signature is "
        "required (default: TWILIO_AUTH_TOKEN)",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the base URL Twilio calls (https://ivr.example.com), for signatures behind a proxy",
    )
    p.add_argument(
        "--replay-window",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="refuse signed callbacks older than this (default: 3600)",
    )
    p.add_argument(
        "--snapshot-key-env",
        default="IVRFLOW_SNAPSHOT_KEY",
        metavar="NAME",
        help="environment variable holding the keys that seal secure values in stored calls: "
        "ID=KEY,ID=KEY… (the first seals, all open; KEY raw:<base64 of 32 bytes>, "
        "hex:<64 digits> or a secret text, derived with HKDF), or one KEY alone",
    )
    p.add_argument("--voice", metavar="VOICE", help='default <Say voice>, e.g. "Polly.Camila"')
    p.add_argument("--play-base-url", metavar="URL", help="prefix for relative audio paths")
    p.add_argument(
        "--extension-uri",
        metavar="TEMPLATE",
        help="SIP URI that extension transfers dial, e.g. sip:{extension}@pbx.example.com "
        "({context} too); without it an extension transfer takes the flow's failed branch",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level of the gateway (default: warning)",
    )


def _installed(module: str) -> bool:
    # Looked up, not imported: only the gateways may import aiohttp and redis.
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _dispatcher(args: argparse.Namespace, found: hosting.Host) -> Any:
    """The callback dispatcher `serve webhook --dispatch` runs beside the webhook, or None
    after saying what is missing."""
    from ..host.dispatcher import Dispatcher, lifecycle_of
    from .callbacks import dialer_from

    store = lifecycle_of(found.callbacks)
    if store is None:
        print("ivrflow serve webhook: --dispatch needs --callbacks", file=sys.stderr)
        return None
    if not args.webhook_url and args.public_url:
        args.webhook_url = args.public_url
    try:
        return Dispatcher(store, dialer_from(args, store=store))
    except ValueError as exc:
        print(f"ivrflow serve webhook: --dispatch: {exc}", file=sys.stderr)
        return None


def run_webhook(args: argparse.Namespace) -> int:
    if not _installed("aiohttp") or (args.redis and not _installed("redis")):
        print(WEBHOOK_MISSING, file=sys.stderr)
        return EXIT_USAGE
    import asyncio
    import logging
    import os

    from ..host.gateways import webhook
    from ..host.gateways.session_store import MemorySessionStore, SessionStore
    from ..host.sinks import MemorySink

    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    webhook.log.setLevel(getattr(logging, str(args.log_level).upper()))
    key_text = os.environ.get(args.snapshot_key_env or "", "")
    token = os.environ.get(args.auth_token_env or "") or None
    key_parts = [part.partition("=")[2] for part in key_text.split(",")]
    hosting.redact_logs(
        token,
        key_text,
        *key_parts,
        *hosting.url_password(args.redis),
        *hosting.url_password(records_dsn(args.records_db)),
    )
    if args.redis and args.journal:
        print(
            "ivrflow serve webhook: --journal is for one worker on the memory store; with "
            "--redis, calls outlive a worker's crash and the next worker goes on with them",
            file=sys.stderr,
        )
        return EXIT_USAGE
    snapshot_key = None
    if key_text:
        from ..runtime.sealing import Keyring, SealError

        try:
            snapshot_key = Keyring.parse(key_text)
        except SealError as exc:
            print(f"ivrflow serve webhook: ${args.snapshot_key_env}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    found = hosting.setup(serve_options(args), "webhook", MemorySink(), snapshot_key)
    if found is None:
        return EXIT_USAGE
    flows_dir, host, port, engine = found.flows_dir, found.host, found.port, found.engine
    store: SessionStore
    if args.redis:
        from ..host.gateways.session_store import RedisSessionStore

        store = RedisSessionStore(args.redis, ttl=args.session_ttl)
    else:
        store = MemorySessionStore(ttl=args.session_ttl)
    config = webhook.WebhookConfig(
        flows_dir=flows_dir,
        store=store,
        auth_token=token,
        public_url=args.public_url,
        voice=args.voice,
        play_base_url=args.play_base_url,
        extension_uri=args.extension_uri,
        replay_window=args.replay_window,
    )
    try:
        if args.functions:
            hosting.load_functions(engine, args.functions)
        if args.fixtures:
            config.on_flow = hosting.fixtures_hook(args.fixtures)
    except Exception as exc:
        print(f"ivrflow serve webhook: {exc}", file=sys.stderr)
        found.close()
        return EXIT_FAILED
    signed = "signatures checked" if config.auth_token else "NO signature check (no auth token)"
    where = "Redis" if args.redis else "memory"
    print(
        f"ivrflow: webhook on http://{host}:{port}/voice/<flow>, flows from {flows_dir}, "
        f"calls in {where}, {signed}",
        file=sys.stderr,
        flush=True,
    )

    dispatching = None
    if args.dispatch:
        dispatching = _dispatcher(args, found)
        if dispatching is None:
            found.close()
            return EXIT_USAGE

    async def alongside() -> None:
        if dispatching is not None:
            dispatch = asyncio.ensure_future(dispatching.run())
        try:
            await found.start_ops({"session_store": store.ping})
        except OSError as exc:
            webhook.log.error("cannot serve --metrics %s: %s", args.metrics, exc)
        try:
            await found.keep_replaying()
        finally:
            if dispatching is not None:
                dispatch.cancel()
                await dispatching.dialer.close()
            await found.stop_ops()

    try:
        webhook.serve(engine, config, host, port, alongside=alongside)
    except OSError as exc:
        print(f"ivrflow serve webhook: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        pass
    finally:
        found.replay()
        found.close()
    return EXIT_OK


__all__ = [
    "DESCRIPTION",
    "HELP",
    "NAME",
    "WEBHOOK_MISSING",
    "add_arguments",
    "add_shared_arguments",
    "add_webhook_arguments",
    "run",
    "run_webhook",
    "serve_options",
]
