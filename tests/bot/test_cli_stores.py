"""Bad stores: each is one line on standard error naming it (password hidden), and exit 2.

The commands run in-process through :func:`bot.cli.main`; the stores are real: files of random
bytes or cut short, a read-only file, URLs of unknown, uninstalled or synchronous drivers, and
a real PostgreSQL on loopback (a port nobody listens on, a database that does not exist, a
wrong password). The words matched are what SQLite, asyncpg and PostgreSQL say.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from state.store import Store
from tests.support.influxdb import free_port
from tests.support.postgres import PASSWORD, Postgres
from tests.support.runs import T0, start_command

COMMANDS = {
    "report": ["report", "--site", "summit"],
    "demo": ["demo", "--speed", "max"],
}


def a_store(path: Path) -> Path:
    """A real SQLite file with enough rows to span pages (so that a cut leaves it damaged)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 2000)
    return path


def random_bytes(tmp: Path) -> str:
    path = tmp / "random.db"
    path.write_bytes(os.urandom(8192))
    return str(path)


def truncated(tmp: Path) -> str:
    whole = a_store(tmp / "whole.db").read_bytes()
    path = tmp / "truncated.db"
    path.write_bytes(whole[: len(whole) // 3])
    return str(path)


def read_only(tmp: Path) -> str:
    path = a_store(tmp / "read-only.db")
    path.chmod(0o444)
    return str(path)


SQLITE_CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "random bytes": (random_bytes, "is not a SQLite database (file is not a database)"),
    "truncated": (truncated, "is damaged, truncated or overwritten"),
    "read-only": (read_only, "is read-only"),
    "missing directory": (lambda tmp: str(tmp / "nowhere" / "x.db"), "directory"),
    "synchronous URL": (lambda _: "sqlite:///x.db", "names a synchronous driver"),
    "unknown driver": (lambda _: "nosuch+driver://h/x", "names an unknown database or driver"),
    "uninstalled driver": (
        lambda _: "mysql+aiomysql://bot:hunter2@127.0.0.1/x",
        "needs a driver that is not installed (No module named 'aiomysql')",
    ),
}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and standard error of ``upgrade-bot ARGV``."""
    code = main(argv)
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    """The only line of ``err`` (the test fails if there are more, or a traceback)."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", SQLITE_CASES)
def test_a_bad_sqlite_store_is_one_line_and_exit_2(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad file or URL: exit 2, one line that names it and says what is wrong."""
    make, words = SQLITE_CASES[case]
    db = make(tmp_path)
    before = Path(db).read_bytes() if Path(db).is_file() else None
    code, err = run_cli([*COMMANDS[command], "--db", db], capsys)
    line = one_line(err)
    assert code == 2
    assert words in line
    assert "hunter2" not in line
    shown = db.replace(":hunter2@", ":***@")
    assert shown in line
    if before is not None:
        assert Path(db).read_bytes() == before  # a bad store is left as it was


def test_a_store_named_by_the_environment_is_named_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``UPGRADE_BOT_DATABASE_URL`` takes a URL, and a bad one gets the same line."""
    monkeypatch.setenv("UPGRADE_BOT_DATABASE_URL", f"sqlite+aiosqlite:///{random_bytes(tmp_path)}")
    code, err = run_cli(COMMANDS["report"], capsys)
    assert code == 2
    assert "random.db is not a SQLite database" in one_line(err)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("unreachable", "cannot reach the database of the store"),
        ("missing database", 'names a database that does not exist (database "absent"'),
        ("wrong password", "was refused: wrong user or password"),
    ],
)
def test_a_bad_postgresql_store_is_one_line_and_exit_2(
    case: str,
    words: str,
    command: str,
    postgres_server: Postgres,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real PostgreSQL refuses: one line naming the URL, its password hidden; exit 2."""
    url = {
        "unreachable": postgres_server.url("postgres").replace(
            f":{postgres_server.port}/", f":{free_port()}/"
        ),
        "missing database": postgres_server.url("absent"),
        "wrong password": postgres_server.url("postgres", password="not-the-password"),  # noqa: S106  # the wrong one, on purpose
    }[case]
    code, err = run_cli([*COMMANDS[command], "--db", url], capsys)
    line = one_line(err)
    assert code == 2
    assert words in line
    assert PASSWORD not in line
    assert "not-the-password" not in line
    assert "postgresql+asyncpg://postgres:***@127.0.0.1:" in line


def test_a_store_of_a_newer_bot_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store whose schema is newer than this bot's: refused, saying which, and left alone."""
    db = tmp_path / "newer.db"
    assert run_cli([*COMMANDS["report"], "--db", str(db)], capsys)[0] == 1  # made; no run yet
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE store_schema SET version = 99")
    code, err = run_cli([*COMMANDS["demo"], "--db", str(db)], capsys)
    assert code == 2
    assert f"the store {db} was written by a newer upgrade-bot (schema 99;" in one_line(err)


@pytest.mark.slow
def test_report_reads_a_run_from_postgresql(
    postgres_server: Postgres, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report --db URL``: the run kept on PostgreSQL, as Markdown."""

    async def kept() -> str:
        url = postgres_server.url(await postgres_server.create_database())
        store = await Store.open(url)
        try:
            await store.start(start_command("tts-1", "tts"), T0)
        finally:
            await store.aclose()
        return url

    url = asyncio.run(kept())
    code = main(["report", "--site", "tts", "--db", url], out=(out := io.StringIO()))
    assert code == 0, capsys.readouterr().err
    assert "tts-1" in out.getvalue()
