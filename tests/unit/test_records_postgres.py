"""Issue 16: call records in a real PostgreSQL (the throw-away cluster of tests/postgres_lab.py).

The sink commits each record before `write` returns and groups concurrent writes; behind a
`SpoolingSink` a database that refuses connections loses nothing (spooled, then moved into the
table exactly once); `ivrflow report --db` gives the same figures as the same records in files.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from postgres_lab import fresh_database

from ivrflow.cli import main
from ivrflow.host.records_postgres import PostgresSink, RecordStoreError, read_records
from ivrflow.host.sinks import SpoolingSink
from ivrflow.host.sinks import read_records as read_file

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
RECORDS = sorted((ROOT / "flows" / "records").glob("*.jsonl"))


def sample() -> list[dict[str, Any]]:
    return [record for path in RECORDS for record in read_file(path)]


def report(*argv: str) -> tuple[int, dict[str, Any], str]:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["report", "--format", "json", "--flows", str(ROOT / "flows"), *argv])
    data = json.loads(out.getvalue()) if out.getvalue() else {}
    return code, data, err.getvalue()


def without_sources(data: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(data, sort_keys=True)
    return dict(json.loads(re.sub(r'"files": \[[^\]]*\]', '"files": []', text)))


def test_records_round_trip_in_the_order_written(postgres: str) -> None:
    dsn = fresh_database(postgres)
    sink = PostgresSink(dsn)
    records = sample()[:50]
    for record in records:
        sink.write(record)
    sink.write(records[0])  # a replay of the same call: kept once
    assert sink.count() == 50
    back = [json.loads(text) for text in read_records(dsn)]
    assert back == records
    assert [json.loads(t)["call_id"] for t in read_records(dsn, flows=["bank"])] == [
        r["call_id"] for r in records if r["flow"] == "bank"
    ]
    sink.close()


def test_concurrent_writes_are_each_committed_once(postgres: str) -> None:
    dsn = fresh_database(postgres)
    sink = PostgresSink(dsn)
    records = sample()[:200]
    start = threading.Barrier(20)

    def writer(mine: list[dict[str, Any]]) -> None:
        start.wait()
        for record in mine:
            sink.write(record)

    threads = [threading.Thread(target=writer, args=(records[i::20],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sink.count() == 200
    assert sorted(json.loads(t)["call_id"] for t in read_records(dsn)) == sorted(
        r["call_id"] for r in records
    )
    sink.close()


def test_a_database_that_refuses_loses_nothing_spooled_then_moved_once(
    postgres: str, tmp_path: Path
) -> None:
    import psycopg

    dsn = fresh_database(postgres)
    name = dsn.rsplit("/", 1)[1]
    spool = tmp_path / "records-db.spool"
    sink = SpoolingSink(PostgresSink(dsn, connect_timeout=2), spool)
    records = sample()[:30]
    for record in records[:10]:
        sink.write(record)
    with psycopg.connect(postgres, autocommit=True) as admin:  # the database goes away
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
    for record in records[10:20]:
        sink.write(record)  # the caller notices nothing
    assert [r["call_id"] for r in sink.spooled()] == [r["call_id"] for r in records[10:20]]
    assert sink.failures == 10 and "RecordStoreError" in (sink.last_error or "")
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    sink.write(records[20])  # accepted: the spool follows it
    assert not spool.exists() or sink.spooled() == []
    for record in records[21:]:
        sink.write(record)
    assert sink.replay() == 0  # a second replay moves nothing again
    ids = [json.loads(t)["call_id"] for t in read_records(dsn)]
    assert sorted(ids) == sorted(r["call_id"] for r in records)  # each once
    assert len(ids) == len(set(ids)) == 30
    sink.inner.close()  # type: ignore[attr-defined]


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(RecordStoreError, match="cannot reach postgresql://u:\\*\\*\\*@"):
        PostgresSink("postgresql://u:secret@127.0.0.1:1/x", connect_timeout=1)


def test_report_from_the_database_gives_the_figures_of_the_files(postgres: str) -> None:
    dsn = fresh_database(postgres)
    sink = PostgresSink(dsn)
    records = sample()
    for i in range(0, len(records), 500):
        sink.insert(records[i : i + 500])
    sink.close()
    files = [str(p) for p in RECORDS]
    for extra in ([], ["--flow", "billing", "--since", "2026-11-17", "--by", "hour"],
                  ["--dnis", "+18885550142", "--tz", "America/Sao_Paulo"]):  # fmt: skip
        code_f, from_files, err_f = report(*files, *extra)
        code_d, from_db, err_d = report("--db", dsn, *extra)
        assert code_f == code_d == 0, (err_f, err_d)
        assert from_files["summary"]["calls"] > 0
        db_source, file_source = from_db.pop("source"), from_files.pop("source")
        assert without_sources(from_db) == without_sources(from_files)  # every figure
        assert db_source["used"] == file_source["used"]
        assert db_source["filters"] == file_source["filters"]
        if not extra:  # unfiltered: the same records read, too
            assert db_source["records"] == file_source["records"] == 3700
        # Filtered, the database sends only what the filters keep: fewer lines read.


def test_report_db_usage_errors(postgres: str) -> None:
    code, _, err = report()
    assert code == 2 and "--db" in err
    code, _, err = report(str(RECORDS[0]), "--db", postgres)
    assert code == 2
    code, _, err = report("--db", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and "cannot reach" in err


def test_serve_agi_writes_records_to_postgres(postgres: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_fastagi import FakeAsterisk

    dsn = fresh_database(postgres)
    env = dict(__import__("os").environ, IVRFLOW_TEST_RECORDS_DB=dsn)
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "serve", "agi", "--listen", "127.0.0.1:0",
         "--records-db", "env:IVRFLOW_TEST_RECORDS_DB", "--records-spool",
         str(tmp_path / "spool"), "--fixtures", str(ROOT / "flows" / "fixtures" / "billing.yaml"),
         "--call-log", "off", str(ROOT / "flows")],
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert m, line
        fake = FakeAsterisk(
            [], special=lambda c: ["HANGUP", "200 result=-1"] if c.startswith("STREAM") else None
        )
        asyncio.run(asyncio.wait_for(fake.call(int(m.group(1)), "call-pg"), 20))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (text,) = list(read_records(dsn))
    record = json.loads(text)
    assert record["call_id"] == "call-pg" and record["outcome"]["kind"] == "abandoned"
