"""A real PostgreSQL for tests: Debian's ``postgresql``, started from a temp dir on loopback.

``initdb`` makes a cluster in a temporary directory, with password authentication on TCP
(scram-sha-256, so that a wrong password is refused as on a real server) and ``postgres -D``
serves it on 127.0.0.1 at a free port, its Unix socket in that directory: nothing of the
machine's own clusters is touched. ``initdb`` refuses to run as root, so as root the
directory belongs to the ``postgres`` user (the package creates it), ``initdb`` runs through
``runuser -u postgres`` and the server is started as that user directly (``Popen(user=)``:
its pid is the server's, so that the signals that stop it reach it, which ``runuser`` would
not pass on). Each test gets a database of its own (``CREATE DATABASE``).

As PostgreSQL's documentation says (server-start, app-pg-ctl): SIGTERM is "smart" shutdown
(waits for clients), SIGINT "fast" (disconnects them): :meth:`Postgres.stop` sends SIGINT, as
``pg_ctl stop -m fast`` does, so a restart cuts the bot's connections as a real one would.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from tests.support.influxdb import free_port

USER = "postgres"
PASSWORD = "test-secret"  # noqa: S105  # a throwaway cluster on loopback
START_LIMIT = 30.0
"""Seconds the server has to accept connections after it is started."""

_numbers = itertools.count(1)


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``postgres`` (the newest installed), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> list[str]:
    """The prefix that runs a command as the ``postgres`` user when we are root."""
    return ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []


@dataclass
class Postgres:
    """One running server; :meth:`url` names a database on it (SQLAlchemy, asyncpg driver)."""

    port: int = 0
    _dir: Path | None = field(default=None, repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """``initdb`` (first time only), then ``postgres -D``; wait until it accepts."""
        binary = postgres_bin()
        if binary is None:
            raise FileNotFoundError("PostgreSQL is not installed (Debian package postgresql)")
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="postgres-"))
            (self._dir / "pw").write_text(PASSWORD)
            if os.geteuid() == 0:
                shutil.chown(self._dir, USER)
                shutil.chown(self._dir / "pw", USER)
            subprocess.run(  # noqa: S603  # our own arguments
                [*_as_postgres(), str(binary / "initdb"), "-D", str(self._dir / "data"),
                 "-U", USER, f"--pwfile={self._dir / 'pw'}", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"],
                check=True, capture_output=True, cwd=self._dir,
            )  # fmt: skip
            self.port = free_port()
        log = (self._dir / "server.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603  # our own arguments
            [str(binary / "postgres"), "-D", str(self._dir / "data"),
             "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self._dir), "-c", "fsync=off"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self._dir,
            user=USER if os.geteuid() == 0 else None,
        )  # fmt: skip
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_LIMIT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited ({self._process.returncode}): {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                if "ready to accept connections" in self.log():
                    return
            time.sleep(0.05)  # polled: the server tells no one when it is ready
        raise RuntimeError(f"postgres did not start within {START_LIMIT:g} s: {self.log()}")

    def log(self) -> str:
        """The tail of the server's log (for failure messages)."""
        path = self._dir / "server.log" if self._dir else None
        return path.read_text(errors="replace")[-2000:] if path and path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected); the data stays for a restart."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def remove(self) -> None:
        """Stop, and delete the cluster."""
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def url(self, database: str, *, password: str = PASSWORD) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+asyncpg://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    async def create_database(self) -> str:
        """A new, empty database; its name."""
        name = f"test_{os.getpid()}_{next(_numbers)}"
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, database="postgres",
            timeout=10,
        )  # fmt: skip
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return name


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """A server of its own, removed afterwards; the test is skipped, saying why, without one."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql; CI does)")
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()
