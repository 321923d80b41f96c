"""How fast is `ivrflow report` on 1,000,000 records, from a JSON-lines file and from PostgreSQL?

Run from the project root (needs the `postgres` extra and Debian's `postgresql` server, or a
DSN of your own with --db):

    python bench/report_sources.py                      # 1,000,000 records, 3 runs each
    python bench/report_sources.py --records 100000 --runs 1              # quicker

The records are the repository's sample records (flows/records/*.jsonl, 3,700 calls of four
flows) repeated with fresh call ids and start times shifted by a day per copy, so the report
has the same shape at any size. They are written once to a JSON-lines file and once to the
`call_records` table of the PostgreSQL record sink (`ivrflow.host.records_postgres`: the table
made by `PostgresSink`, filled with COPY). Then `ivrflow report --format json` runs in a child
process on each, alternating, `--runs` times; the medians of the wall times and their ratio are
printed, with a check that both reports give the same figures. Without --db a throw-away
cluster is started on 127.0.0.1 in a temporary directory (as tests/postgres_lab.py does) and
removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SAMPLES = sorted((ROOT / "flows" / "records").glob("*.jsonl"))


def records(n: int) -> Iterator[dict[str, Any]]:
    base = [json.loads(line) for path in SAMPLES for line in path.open(encoding="utf-8")]
    copy = 0
    while True:
        shift = dt.timedelta(days=copy)
        for record in base:
            if n == 0:
                return
            n -= 1
            out = dict(record)
            out["call_id"] = f"{record['call_id']}-{copy}"
            for key in ("started_at", "ended_at"):
                out[key] = (dt.datetime.fromisoformat(record[key]) + shift).isoformat(
                    timespec="milliseconds"
                )
            yield out
        copy += 1


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    from postgres_lab import as_owner, free_port, server_bindir

    bindir = server_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server binaries (Debian package postgresql); or --db DSN")
    user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="ivrflow-bench-pg-"))
    if user:
        import pwd

        owner = pwd.getpwnam(user)
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, port = base / "data", free_port()
    subprocess.run(
        as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync"], user),
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    subprocess.run(
        as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                  f"-h 127.0.0.1 -p {port} -k {base}", "start"], user),
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user),
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


def load(n: int, path: Path, dsn: str) -> tuple[float, float]:
    """Write the records to the file and to the table; the seconds each took."""
    from ivrflow.host.records_postgres import PostgresSink, _row

    began = time.perf_counter()
    with open(path, "w", encoding="utf-8") as f:
        for record in records(n):
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    file_s = time.perf_counter() - began
    sink = PostgresSink(dsn)
    conn = sink._connect()
    began = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"TRUNCATE {sink.table}")
        columns = "call_id, flow, flow_version, dnis, started_at, outcome, record"
        with cur.copy(f"COPY {sink.table} ({columns}) FROM STDIN") as copy:
            for record in records(n):
                copy.write_row(_row(record))
    conn.execute(f"ANALYZE {sink.table}")
    conn.commit()
    db_s = time.perf_counter() - began
    assert sink.count() == n
    sink.close()
    return file_s, db_s


def report(*source: str) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds of the report process, its figures)."""
    argv = [sys.executable, "-m", "ivrflow", "report", "--format", "json",
            "--flows", str(ROOT / "flows"), *source]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"report failed: {done.stderr[-2000:]}")
    data = json.loads(done.stdout)
    data.pop("source", None)  # which file or database: the part that must differ
    return seconds, cpu, data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3, help="reports per source (medians)")
    p.add_argument("--db", metavar="DSN", help="an existing PostgreSQL (default: a throw-away)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ivrflow-bench-report-") as tmp:
        path = Path(tmp) / "records.jsonl"
        server = contextlib.nullcontext(args.db) if args.db else throwaway_postgres()
        with server as dsn:
            assert dsn is not None
            file_s, db_s = load(args.records, path, dsn)
            size = path.stat().st_size / 1e6
            print(
                f"{args.records:,} records ({size:,.0f} MB of JSON lines): written to the file in "
                f"{file_s:.1f} s, COPYed into PostgreSQL in {db_s:.1f} s",
                flush=True,
            )
            times: dict[str, list[float]] = {"file": [], "postgres": []}
            cpus: dict[str, list[float]] = {"file": [], "postgres": []}
            figures: dict[str, dict[str, Any]] = {}
            for n in range(args.runs):
                order = ["file", "postgres"] if n % 2 == 0 else ["postgres", "file"]
                for source in order:
                    argv2 = [str(path)] if source == "file" else ["--db", dsn]
                    seconds, cpu, figures[source] = report(*argv2)
                    times[source].append(seconds)
                    cpus[source].append(cpu)
                    rate = args.records / seconds
                    print(
                        f"  run {n + 1} {source:8s} {seconds:6.1f} s wall ({rate:,.0f} records/s),"
                        f" {cpu:6.1f} s CPU of the report process",
                        flush=True,
                    )
    f, d = statistics.median(times["file"]), statistics.median(times["postgres"])
    fc, dc = statistics.median(cpus["file"]), statistics.median(cpus["postgres"])
    print(f"median report from the file:   {f:.1f} s wall ({args.records / f:,.0f} records/s), "
          f"{fc:.1f} s CPU")  # fmt: skip
    print(f"median report from PostgreSQL: {d:.1f} s wall ({args.records / d:,.0f} records/s), "
          f"{dc:.1f} s CPU (the database server's own CPU not included)")  # fmt: skip
    print(f"PostgreSQL/file: {d / f:.2f}x wall, {dc / fc:.2f}x CPU of the report process")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    same = figures["file"] == figures["postgres"]
    print(f"the same figures from both: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
