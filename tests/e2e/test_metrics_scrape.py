"""Issue 16: what operators watch, scraped for real. `ivrflow serve agi` and `serve webhook` run
as child processes with `--metrics`; calls come over a FastAGI socket (a scripted Asterisk side)
and as Twilio-style form posts; /metrics is fetched over HTTP and parsed with
prometheus-client's own parser; the JSON call log is read from the child's standard error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from conftest import cli_env  # noqa: E402
from test_fastagi import FakeAsterisk  # noqa: E402

LIMIT = 20.0

OPS_FLOW = """\
flow ops "Operations test line"
  version "7"
  language en-US
  timeout 2s, retries 2

function balance(number) timeout 2s
function broken(number) timeout 2s
queue agents "Agents"

start:
  -> account

capture account:
  digits 4
  secure
  say "Type your four digit account number."
  noinput 1: say "I did not hear you."
  nomatch 1: say "That is not four digits."
  ok -> menu_main
  exhausted -> agent

menu menu_main:
  say "For your balance press 1, for an agent press 0."
  1 -> look
  2 -> fail
  0 -> agent
  noinput 1: say "I did not hear you."
  nomatch 1: say "That is not an option."
  exhausted -> agent

lookup look balance(ani) as acct:
  ok:
    say "Your balance is {{ acct.amount }}."
    hangup "balance_told"
  error -> agent

lookup fail broken(ani) as nothing:
  ok -> agent
  error -> agent

transfer agent:
  queue agents
"""

FUNCTIONS = """\
from ivrflow.errors import LookupFailure


def balance(number):
    return {"amount": "12.50"}


def broken(number):
    raise LookupFailure("the CRM is down")


FUNCTIONS = {"balance": balance, "broken": broken}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(url)


def scrape(port: int) -> dict[str, Any]:
    """name → family, as prometheus-client's parser reads the exposition."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    """The value of one sample (`ivrflow_calls_ended_total`, labels), 0 when absent."""
    name = re.sub(r"(_total|_count|_sum|_bucket)$", "", sample)
    family = families.get(name)
    if family is None:
        return 0.0
    for s in family.samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return 0.0


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "ops.ivr").write_text(OPS_FLOW, encoding="utf-8")
    (tmp_path / "ops_functions.py").write_text(FUNCTIONS, encoding="utf-8")
    return tmp_path / "flows"


@contextlib.contextmanager
def serve(flows: Path, gateway: str, *extra: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    metrics = free_port()
    log = flows.parent / f"{gateway}.stderr"
    env = cli_env()
    env["PYTHONPATH"] = f"{flows.parent}:{env['PYTHONPATH']}"
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivrflow", "serve", gateway, str(flows), "--metrics",
             f"127.0.0.1:{metrics}", "--functions", "ops_functions:FUNCTIONS",
             "--records", str(flows.parent / "records.jsonl"), *extra],
            stderr=err, stdin=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{metrics}/healthz", proc)
            yield proc, metrics
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=LIMIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def call_log(flows: Path, gateway: str) -> list[dict[str, Any]]:
    text = (flows.parent / f"{gateway}.stderr").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def agi_port(flows: Path) -> int:
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        text = (flows.parent / "agi.stderr").read_text(encoding="utf-8")
        m = re.search(r"FastAGI on 127\.0\.0\.1:(\d+)", text)
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise TimeoutError("no FastAGI line")


def test_serve_agi_metrics_after_real_calls_over_a_socket(flows: Path) -> None:
    with serve(flows, "agi", "--log-mask-ani", "--listen", "127.0.0.1:0") as (_, metrics):
        port = agi_port(flows)

        async def calls(port: int) -> None:
            # 1: account, balance told (look-up ok); 2: account, a no-input, then 2 → the
            # broken look-up → agent (queue answered); 3: account, a no-match, then a hang-up.
            await FakeAsterisk(["1234", "1"]).call(port, "agi-1", script="ops")
            await FakeAsterisk(["1234", "timeout", "2"], queuestatus="").call(
                port, "agi-2", script="ops"
            )
            await FakeAsterisk(["1234", "9"]).call(port, "agi-3", script="ops")

        asyncio.run(asyncio.wait_for(calls(port), LIMIT))
        time.sleep(0.7)  # at least one event-loop lag probe (every 0.5 s)
        families = scrape(metrics)
        ready = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/readyz", timeout=5)
        assert ready.status == 200
        assert json.loads(ready.read())["checks"]["records"]["status"] == "ok"

    assert value(families, "ivrflow_calls_started_total", flow="ops") == 3
    assert value(families, "ivrflow_calls_in_progress", flow="ops") == 0
    assert value(families, "ivrflow_calls_ended_total", flow="ops", outcome="self_served") == 1
    assert value(families, "ivrflow_calls_ended_total", flow="ops", outcome="transferred") == 1
    assert value(families, "ivrflow_calls_ended_total", flow="ops", outcome="abandoned") == 1
    assert value(families, "ivrflow_call_duration_seconds_count", flow="ops") == 3
    assert value(families, "ivrflow_state_entries_total", flow="ops", state="account") == 3
    assert value(families, "ivrflow_state_entries_total", flow="ops", state="look") == 1
    assert value(families, "ivrflow_noinput_total", flow="ops", state="menu_main") == 1
    assert value(families, "ivrflow_nomatch_total", flow="ops", state="menu_main") == 1
    assert value(families, "ivrflow_lookup_duration_seconds_count", function="balance") == 1
    assert value(families, "ivrflow_lookup_duration_seconds_count", function="broken") == 1
    assert value(families, "ivrflow_lookup_errors_total", function="broken", reason="error") == 1
    assert value(families, "ivrflow_lookup_errors_total", function="balance") == 0
    assert value(families, "ivrflow_transfers_total", flow="ops", status="answered") == 1
    assert value(families, "ivrflow_spool_depth", spool="records") == 0
    assert value(families, "ivrflow_record_sink_failures_total", sink="records") == 0
    assert value(families, "ivrflow_event_loop_lag_seconds_count") >= 1
    for family in families.values():  # Prometheus naming: our prefix; units in the name
        if family.name.startswith("ivrflow_"):
            assert re.fullmatch(r"ivrflow_[a-z_]+", family.name)
            if family.type == "histogram":
                assert family.name.endswith("_seconds")

    lines = call_log(flows, "agi")
    assert [(e["event"], e["call_id"]) for e in lines] == [
        ("call_start", "agi-1"), ("call_end", "agi-1"),
        ("call_start", "agi-2"), ("call_end", "agi-2"),
        ("call_start", "agi-3"), ("call_end", "agi-3"),
    ]  # fmt: skip
    for entry in lines:
        assert entry["flow"] == "ops" and entry["version"] == "7"
        assert entry["ani"] == "**********5678"  # --log-mask-ani
    ends = {e["call_id"]: e for e in lines if e["event"] == "call_end"}
    assert ends["agi-1"]["outcome"] == "self_served" and ends["agi-1"]["duration"] >= 0
    assert "1234" not in (flows.parent / "agi.stderr").read_text()  # the secure account


def post(port: int, sid: str, path: str = "/voice/ops", **fields: str) -> str:
    body = urllib.parse.urlencode({"CallSid": sid, **fields}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", body, timeout=5) as resp:
        return str(resp.read().decode())


def gather_action(xml: str) -> str:
    m = re.search(r'<Gather [^>]*action="([^"]+)"', xml)
    assert m, xml
    return m.group(1).replace("&amp;", "&")


def test_serve_webhook_metrics_after_real_requests(flows: Path) -> None:
    pytest.importorskip("aiohttp")
    web = free_port()
    with serve(flows, "webhook", "--listen", f"127.0.0.1:{web}") as (proc, metrics):
        wait_http(f"http://127.0.0.1:{web}/healthz", proc)
        caller = {"From": "+15550001111", "To": "+15550002222"}
        xml = post(web, "CA-W1", CallStatus="ringing", **caller)
        xml = post(web, "CA-W1", gather_action(xml), Digits="1234")
        xml = post(web, "CA-W1", gather_action(xml), Digits="1")
        assert "12.50" in xml and "<Hangup" in xml
        xml = post(web, "CA-W2", CallStatus="ringing", **caller)
        post(web, "CA-W2", CallStatus="completed")
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/readyz", timeout=5) as resp:
            report = json.loads(resp.read())
        assert report["checks"]["session_store"]["status"] == "ok"
        families = scrape(metrics)

    assert value(families, "ivrflow_calls_started_total", flow="ops") == 2
    assert value(families, "ivrflow_calls_ended_total", flow="ops", outcome="self_served") == 1
    assert value(families, "ivrflow_calls_ended_total", flow="ops", outcome="abandoned") == 1
    assert value(families, "ivrflow_calls_in_progress", flow="ops") == 0
    assert value(families, "ivrflow_lookup_duration_seconds_count", function="balance") == 1
    assert value(families, "ivrflow_state_entries_total", flow="ops", state="look") == 1
    events = [(e["event"], e["call_id"]) for e in call_log(flows, "webhook")]
    assert events == [("call_start", "CA-W1"), ("call_end", "CA-W1"),
                      ("call_start", "CA-W2"), ("call_end", "CA-W2")]  # fmt: skip
