"""A real InfluxDB 1.x (``influxd``) for tests and benchmarks: unprivileged, on loopback, throwaway.

Started from a temporary directory with its own configuration file, so it touches nothing of the
machine's (no ``/var/lib/influxdb``, no ``_internal`` database, no usage reporting, no listener
beyond 127.0.0.1). CI installs Debian's ``influxdb`` package (1.6), which speaks the same HTTP API
as the EFD's production InfluxDB.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import pytest

INFLUXD = os.environ.get("INFLUXD", "/usr/bin/influxd")
"""The server binary (Debian installs it here)."""

START_LIMIT = 20.0
"""Seconds ``influxd`` has to answer ``/ping`` after it is started."""


def influxd_path() -> str | None:
    """The ``influxd`` to run, or None if this machine has none (the tests are then skipped)."""
    if Path(INFLUXD).is_file() and os.access(INFLUXD, os.X_OK):
        return INFLUXD
    return shutil.which("influxd")


def free_port() -> int:
    """A TCP port nobody listens on now on 127.0.0.1 (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _config(root: Path, http_port: int, rpc_port: int, *, auth: bool, data: str = "") -> str:
    """An ``influxd`` configuration that keeps everything under ``root`` and on loopback."""
    return f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"
{data}

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[retention]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {"true" if auth else "false"}
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""


@dataclass
class Influxd:
    """One running ``influxd``; ``url`` is its HTTP API (``http://127.0.0.1:<port>``)."""

    auth: bool = False
    """Start with ``auth-enabled = true`` (then call :meth:`create_admin` before anything else)."""
    data_options: str = ""
    """More lines for the ``[data]`` section (the benchmark snapshots its cache to TSM early)."""
    url: str = ""
    _dir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    _auth: dict[str, str] = field(default_factory=dict, repr=False)

    async def start(self) -> None:
        """Start the server and wait until ``/ping`` answers 204."""
        binary = influxd_path()
        if binary is None:
            raise FileNotFoundError("influxd is not installed (Debian package influxdb)")
        self._dir = tempfile.TemporaryDirectory(prefix="influxd-")
        root = Path(self._dir.name)
        http_port, rpc_port = free_port(), free_port()
        cfg = root / "influxdb.conf"
        cfg.write_text(_config(root, http_port, rpc_port, auth=self.auth, data=self.data_options))
        self.url = f"http://127.0.0.1:{http_port}"
        log = (root / "influxd.log").open("wb")
        self._process = await asyncio.create_subprocess_exec(
            binary,
            "-config",
            str(cfg),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=root,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
        )
        log.close()
        self.connect()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def connect(self) -> None:
        """Open the HTTP session alone: a client of the server at ``url``, started elsewhere.

        The benchmark's live writers use it from a process of their own, as the EFD's are;
        :meth:`stop` then closes the session and leaves the server alone.
        """
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def _wait_ready(self) -> None:
        assert self._session is not None
        assert self._process is not None
        async with asyncio.timeout(START_LIMIT):
            while True:
                if self._process.returncode is not None:
                    raise RuntimeError(f"influxd exited ({self._process.returncode}): {self.log()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with self._session.get(f"{self.url}/ping") as r:
                        if r.status == 204:
                            return
                await asyncio.sleep(0.05)

    def log(self) -> str:
        """The tail of the server's log (for failure messages)."""
        if self._dir is None:
            return ""
        path = Path(self._dir.name) / "influxd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    async def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its files; a client: close it."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def create_admin(self, username: str, password: str) -> None:
        """Create the first user, an admin (allowed without credentials on a fresh server)."""
        await self.query(
            f"CREATE USER \"{username}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"
        )
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth = {"Authorization": f"Basic {token}"}

    async def query(self, q: str, *, db: str | None = None) -> dict[str, Any]:
        """Run InfluxQL with ``POST /query`` (management statements need POST); raise on errors."""
        assert self._session is not None
        params = {"q": q, "epoch": "ms", **({"db": db} if db else {})}
        async with self._session.post(f"{self.url}/query", data=params, headers=self._auth) as r:
            body: dict[str, Any] = await r.json()
            if r.status != 200 or "error" in body:
                raise RuntimeError(f"influxd {r.status}: {body}")
            for result in body.get("results", []):
                if "error" in result:
                    raise RuntimeError(f"influxd: {result['error']}")
            return body

    async def create_database(self, db: str) -> None:
        """``CREATE DATABASE`` (idempotent)."""
        await self.query(f'CREATE DATABASE "{db}"')

    async def drop_database(self, db: str) -> None:
        """``DROP DATABASE`` (idempotent): a clean slate for the next test."""
        await self.query(f'DROP DATABASE "{db}"')

    async def write(self, db: str, lines: list[str], *, precision: str = "ms") -> None:
        """``POST /write`` line protocol, in batches of 5000 lines; raise unless 204."""
        assert self._session is not None
        for start in range(0, len(lines), 5000):
            body = "\n".join(lines[start : start + 5000]).encode()
            async with self._session.post(
                f"{self.url}/write",
                params={"db": db, "precision": precision},
                data=body,
                headers=self._auth,
            ) as r:
                if r.status != 204:
                    raise RuntimeError(f"influxd write {r.status}: {await r.text()}")


def _sal_index(index: int | None) -> str:
    """The ``salIndex`` field, which ts_xml gives indexed components only (None: not indexed)."""
    return "" if index is None else f"salIndex={index}i,"


def heartbeat_line(csc: str, index: int | None, at_ms: int) -> str:
    """One EFD-shaped ``logevent_heartbeat`` point (the fields the telegraf connector writes).

    ``index=None``: a component that is not indexed (no ``salIndex`` field at all).
    """
    stamp = at_ms / 1000
    identity = csc if index is None else f"{csc}:{index}"
    return (
        f"lsst.sal.{csc}.logevent_heartbeat "
        f"{_sal_index(index)}heartbeat=true,private_efdStamp={stamp:.3f},"
        f'private_sndStamp={stamp + 37:.3f},private_origin=4242i,private_identity="{identity}" '
        f"{at_ms}"
    )


def summary_state_line(csc: str, index: int | None, state: int, at_ms: int) -> str:
    """One EFD-shaped ``logevent_summaryState`` point (``summaryState`` is an integer field).

    ``index=None``: a component that is not indexed (no ``salIndex`` field at all).
    """
    stamp = at_ms / 1000
    return (
        f"lsst.sal.{csc}.logevent_summaryState "
        f"{_sal_index(index)}summaryState={state}i,private_efdStamp={stamp:.3f},"
        f"private_sndStamp={stamp + 37:.3f},private_origin=4242i "
        f"{at_ms}"
    )


def offline_detailed_line(csc: str, substate: int, at_ms: int) -> str:
    """One EFD-shaped ``logevent_offlineDetailedState`` point of a (non-indexed) camera CSC.

    ts_xml's camera event: ``substate`` is an ``OfflineDetailedState`` (AVAILABLE 1,
    PUBLISH_ONLY 2).
    """
    stamp = at_ms / 1000
    return (
        f"lsst.sal.{csc}.logevent_offlineDetailedState "
        f"substate={substate}i,private_efdStamp={stamp:.3f},"
        f"private_sndStamp={stamp + 37:.3f},private_origin=4242i "
        f"{at_ms}"
    )


async def module_influxd() -> AsyncIterator[Influxd]:
    """One real ``influxd`` for a test module (about 0.2 s to start); skipped if not installed.

    A module makes it its fixture: ``influxd = pytest_asyncio.fixture(scope="module",
    loop_scope="module")(module_influxd)``.
    """
    if influxd_path() is None:
        pytest.skip("influxd is not installed (Debian package influxdb)")
    async with Influxd() as server:
        yield server
