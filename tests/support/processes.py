"""Real ``upgrade-bot`` processes for the tests: started, signalled, probed, waited on.

Each bot is the console script of this virtual environment, on a SQLite store in the test's
tmp directory, talking to the fake Slack Web API on loopback and answering Slack over HTTP on
a loopback port, with ``/healthz`` on another. Its log (standard error) is read as it comes,
so a test waits for what the bot says, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.slack_api import TOKEN
from tests.support.slack_bot import SECRET
from tests.support.waiting import until

BOT = Path(sys.executable).parent / "upgrade-bot"


def read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> list[str]:
    """Lines of a process's output up to the first that matches ``pattern``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    pytest.fail(f"no line matching {pattern!r} in:\n{''.join(lines)}")


def free_port() -> int:
    """A loopback port nobody listens on now (the system's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class BotProcess:
    """One ``upgrade-bot run`` process and what it has said."""

    name: str
    process: asyncio.subprocess.Process
    http: int
    health: int
    log: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        name: str,
        *args: str,
        db: Path | str,
        api_root: str,
        env: dict[str, str] | None = None,
        http: int | None = None,
    ) -> BotProcess:
        """``upgrade-bot run --simulate --http 127.0.0.1:PORT --db DB ARGS`` with the fake Slack."""
        http, health = http or free_port(), free_port()
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("UPGRADE_BOT_")},
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{api_root}/api/",
            "UPGRADE_BOT_HEALTH_PORT": str(health),
            **(env or {}),
        }
        health = int(environment["UPGRADE_BOT_HEALTH_PORT"])
        command = [str(BOT), "run", "--simulate", "--http", f"127.0.0.1:{http}"]
        process = await asyncio.create_subprocess_exec(
            *command, "--db", str(db), *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
        )  # fmt: skip
        bot = cls(name, process, http, health)
        bot._reader = asyncio.create_task(bot._read())
        return bot

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        """The process id (the lease's holder names it)."""
        return self.process.pid

    def said(self, pattern: str) -> bool:
        """Whether a line of the log matches ``pattern``."""
        return any(re.search(pattern, line) for line in self.log)

    async def says(self, pattern: str, limit: float = 30.0) -> None:
        """Wait until the log has a line matching ``pattern`` (or the process ended)."""
        await until(lambda: self.said(pattern) or self.process.returncode is not None, limit)
        assert self.said(pattern), f"{self.name} never said {pattern!r}:\n{self.text()}"

    def text(self) -> str:
        """The log so far."""
        return "\n".join(self.log)

    async def healthz(self) -> tuple[int, dict[str, Any]] | None:
        """``/healthz``'s status and body (``None``: nobody answers)."""
        url = f"http://127.0.0.1:{self.health}/healthz"
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                return response.status, await response.json()
        except aiohttp.ClientConnectionError:
            return None

    async def metrics(self) -> str:
        """``/metrics``' text."""
        url = f"http://127.0.0.1:{self.health}/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return await response.text()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process."""
        self.process.send_signal(signum)

    async def exited(self, limit: float = 30.0) -> int:
        """Wait for the process to end; its exit code (negative: the signal that ended it)."""
        code = await asyncio.wait_for(self.process.wait(), limit)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)
        return code

    async def kill(self) -> None:
        """End the process (at the end of a test) if it still runs."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader


def rows(db: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of the store, read as another process would (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        return conn.execute(query, args).fetchall()


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP has taken effect): its state is ``T``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def write_lock_free(db: Path) -> bool:
    """Whether nobody holds the store's write lock (a process frozen in a transaction would)."""
    with contextlib.closing(sqlite3.connect(db, timeout=0.2, isolation_level=None)) as conn:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        conn.execute("ROLLBACK")
        return True
