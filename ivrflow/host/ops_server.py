"""The operator's port (`--metrics HOST:PORT`): `/metrics`, `/healthz`, `/readyz`.

A small HTTP/1.1 server on the gateway's own event loop, so `serve agi` needs no web
framework: each request is one GET, answered and closed. `/metrics` is rendered off the loop
(a registry with many label sets takes milliseconds to format). Keep this port private (a
wallboard, Prometheus, the load balancer's probes): it tells who calls how often.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from .health import Check, readiness
from .metrics import Metrics

log = logging.getLogger("ivrflow.serve")
MAX_REQUEST = 8192  # bytes of request line and headers
READ_TIMEOUT = 5.0

_REASONS = {
    200: "OK",
    500: "Internal Server Error",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


class OpsServer:
    def __init__(
        self,
        metrics: Metrics | None,
        required: Mapping[str, Check] | None = None,
        spools: Mapping[str, Any] | None = None,
    ) -> None:
        self.metrics = metrics
        self.required = dict(required or {})
        self.spools = dict(spools or {})
        self.server: asyncio.Server | None = None
        self._lag: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._serve, host, port)
        if self.metrics is not None:
            self._lag = asyncio.create_task(self.metrics.watch_loop())

    async def close(self) -> None:
        if self._lag is not None:
            self._lag.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of `path`."""
        if path == "/metrics" and self.metrics is not None:
            try:
                body, kind = await asyncio.to_thread(self.metrics.exposition)
            except Exception as exc:  # a broken collector: say so, keep serving
                log.error("metrics: cannot render: %s", exc)
                return 500, "text/plain; charset=utf-8", b"cannot render the metrics"
            return 200, kind, body
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok"
        if path == "/readyz":
            status, report = await readiness(self.required, self.spools)
            return status, "application/json", json.dumps(report).encode()
        return 404, "text/plain; charset=utf-8", b"not found"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        except ConnectionError:
            return
        line = head[:MAX_REQUEST].split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(line) != 3 or line[0] not in ("GET", "HEAD"):
            status, kind, body = 405, "text/plain; charset=utf-8", b"GET only"
        else:
            status, kind, body = await self.answer(line[1].split("?", 1)[0])
        header = (
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        with contextlib.suppress(ConnectionError):
            writer.write(header + (b"" if line and line[0] == "HEAD" else body))
            await writer.drain()
            writer.close()


__all__ = ["OpsServer"]
