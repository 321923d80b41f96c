"""A throw-away PostgreSQL for the tests that need a real one (callback store, record sink).

Debian's `postgresql` server binaries (`make system-deps` installs the package when root), one
cluster per test session: initdb into a temporary directory, owned by the `postgres` user when
the tests run as root (initdb refuses root), listening on 127.0.0.1 at a free port with its
socket in that directory, trust authentication, stopped and removed at the end. Where the
binaries are missing the requesting tests skip and say why; once the server is up, any
failure fails the run.

Tests request `postgres` (the server's DSN) and call `fresh_database(postgres)` for a database
of their own, so tests stay independent of each other and of the order they run in.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 60


def server_bindir() -> Path | None:
    """The newest installed server's bin directory (Debian keeps them out of PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_owner(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The DSN of a PostgreSQL server of this test session's own."""
    bindir = server_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package 'postgresql')")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[dev]')")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to own the cluster")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser(1) is missing")
        user = owner.pw_name
    base = Path(tempfile.mkdtemp(prefix="ivrflow-pg-"))
    data = base / "data"
    log = base / "server.log"
    if user:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    run = subprocess.run(
        as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            user,
        ),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"initdb failed:\n{run.stdout}\n{run.stderr}"
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c fsync=off -c full_page_writes=off"
    start = subprocess.run(
        as_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                str(START_TIMEOUT),
                "-o",
                options,
                "start",
            ],
            user,
        ),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT + 30,
        stdin=subprocess.DEVNULL,
    )
    try:
        if start.returncode != 0:
            text = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{start.stderr}\n{text[-2000:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            as_owner(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user
            ),
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(dsn: str) -> str:
    """Create an empty database on the server of `dsn`; returns the new database's DSN."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return dsn.rsplit("/", 1)[0] + f"/{name}"
