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


class Cluster:
    """One throw-away cluster: initdb'd into a temporary directory, started on 127.0.0.1 at
    a free port; `stop()` and `start()` again (a database that goes down and comes back)."""

    def __init__(self, bindir: Path, user: str | None) -> None:
        self.bindir, self.user = bindir, user
        self.base = Path(tempfile.mkdtemp(prefix="ivrflow-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        if user:
            owner = pwd.getpwnam(user)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        run = subprocess.run(
            as_owner(
                [str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                user,
            ),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert run.returncode == 0, f"initdb failed:\n{run.stdout}\n{run.stderr}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.base} -F -c fsync=off -c full_page_writes=off"
        )
        start = subprocess.run(
            as_owner(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                 "-t", str(START_TIMEOUT), "-o", options, "start"],
                self.user,
            ),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 30,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if start.returncode != 0:
            text = self.log.read_text(errors="replace") if self.log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{start.stderr}\n{text[-2000:]}")

    def stop(self) -> None:
        """Stopped at once, as a crash or a pulled cable would (`-m immediate`)."""
        subprocess.run(
            as_owner(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                 "stop"],
                self.user,
            ),
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def cluster_or_skip() -> Cluster:
    """A new cluster (not started), or the test skips with the reason."""
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
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to own the cluster")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser(1) is missing")
    return Cluster(bindir, user)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The DSN of a PostgreSQL server of this test session's own."""
    cluster = cluster_or_skip()
    try:
        cluster.start()
        yield cluster.dsn
    finally:
        cluster.remove()


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    """A PostgreSQL server of this test's own, started, that the test may stop and start."""
    cluster = cluster_or_skip()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def fresh_database(dsn: str) -> str:
    """Create an empty database on the server of `dsn`; returns the new database's DSN."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return dsn.rsplit("/", 1)[0] + f"/{name}"
