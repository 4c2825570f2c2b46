"""What the store hands back besides runs (progress lines, who holds a lease), its errors, rows.

Pure data, apart from the store that reads and writes them, so that what uses them
(the engine, the lease of the running bot) need not know SQL; and what to say when a store
cannot be opened (:func:`unopenable`). Its URLs are in :mod:`state.store_url`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from state.store_url import USE

if TYPE_CHECKING:
    from state.events import Event
    from state.run import Run


class _Cursor(Protocol):
    def execute(self, sql: str, /) -> object: ...
    def close(self) -> None: ...


class _DBAPIConnection(Protocol):
    def cursor(self) -> _Cursor: ...


def sqlite_pragmas(dbapi_connection: _DBAPIConnection, _record: object) -> None:
    """Set on each new SQLite connection (a ``connect`` event listener).

    WAL: readers never block the writer. synchronous=FULL: a commit is on disk before the bot
    acts on it (a crash must lose nothing). busy_timeout: a second writer waits its turn
    instead of failing at once.
    """
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


Busy = Callable[[], AbstractContextManager[None]]
"""Entered around every statement the store runs (see :meth:`state.store.Store.open`)."""

FREE = datetime.min.replace(tzinfo=UTC).isoformat()
"""The expiry of a released (or never taken) lease: long past."""

FIXED = frozenset({"run_id", "site", "started_at"})
"""The columns of a run's row that never change."""


def run_row(run: Run, updated_at: datetime, epoch: int | None) -> dict[str, Any]:
    """A run's row: its snapshot, and what the queries select it by."""
    return {
        "run_id": run.run_id,
        "site": run.site,
        "open_site": run.site if run.status.open else None,
        "status": run.status.value,
        "version": run.version,
        "started_at": run.started_at.isoformat(),
        "updated_at": updated_at.isoformat(),
        "snapshot": run.model_dump_json(),
        "epoch": epoch,
    }


def event_rows(
    run_id: str, after: int, new: Sequence[Event], epoch: int | None
) -> list[dict[str, Any]]:
    """The rows of ``new``, appended after event ``after`` of the run, under lease ``epoch``."""
    return [
        {"run_id": run_id, "seq": after + i, "type": item.type, "v": item.v, "epoch": epoch,
         "at": item.at.isoformat(), "actor": item.actor, "body": item.model_dump_json()}
        for i, item in enumerate(new, start=1)
    ]  # fmt: skip


class StoreError(Exception):
    """The store cannot do what was asked (unreachable, corrupt, written by a newer bot)."""


def other_mode(runs: Sequence[Run], *, rehearsal: bool) -> StoreError | None:
    """Refuse a store with open runs of the other mode (``None``: none).

    A real bot never resumes a rehearsal (it would act on the real observatory), nor a
    rehearsal bot a real run (it would pretend to do a real run's steps).
    """
    others = ", ".join(run.run_id for run in runs if run.rehearsal != rehearsal)
    if not others:
        return None
    if rehearsal:
        return StoreError(
            f"this store has open real runs ({others}): a rehearsal never resumes a real run; "
            "give the rehearsal its own store (--db, or UPGRADE_BOT_REHEARSAL_DATABASE_URL)"
        )
    return StoreError(
        f"this store has open rehearsal runs ({others}): a real bot never resumes a rehearsal; "
        "end them with run --simulate on this store, or give the real store (--db)"
    )


class VersionConflict(StoreError):
    """Another command changed the run between deciding and saving."""

    def __init__(self, run_id: str, expected: int) -> None:
        """Name the run and the version the save expected."""
        super().__init__(f"run {run_id} is no longer at version {expected}")
        self.run_id = run_id
        self.expected = expected


class LeaseLost(StoreError):
    """The store's lease was taken by another bot (or released): this one may write no more."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a lease, until when, at which epoch (it grows each time it changes hands)."""

    name: str
    holder: str
    expires_at: datetime
    epoch: int


@dataclass(frozen=True, slots=True)
class Progress:
    """The latest progress line of a step's attempt ("41/57 CSCs OFFLINE")."""

    step_id: str
    attempt: int
    text: str
    at: datetime


_ADVICE = (  # (what the driver says, in lower case; what it means, what to do)
    ("file is not a database", "is not a SQLite database", "restore it from a backup, or " + USE),
    ("malformed", "is damaged, truncated or overwritten", "restore it from a backup, or " + USE),
    ("readonly", "is read-only", "make it writable (chmod u+w), or " + USE),
    ("unable to open database file", "cannot be opened", "check its path and rights, or " + USE),
    ("not async", "names a synchronous driver",
     "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"),
    ("can't load plugin", "names an unknown database or driver",
     "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"),
    ("could not parse", "is not a database URL",
     "give a path or a URL such as postgresql+asyncpg://USER:PASSWORD@HOST/DB"),
    ("no module named 'asyncpg'", "needs the driver asyncpg, which is not installed",
     "pip install 'rubin-upgrade-bot[postgres]'"),
    ("no module named", "needs a driver that is not installed",
     "use sqlite+aiosqlite:///PATH, or postgresql+asyncpg://... with the [postgres] extra"),
    ("does not exist", "names a database that does not exist",
     "create it (createdb, or CREATE DATABASE), or fix the URL"),
    ("password authentication failed", "was refused: wrong user or password",
     "check the user and password of the URL"),
    ("authentication", "was refused: wrong user or password", "check the user and password"),
)  # fmt: skip


def cause_of(error: BaseException) -> BaseException | None:
    """What :func:`unopenable`'s error was caused by (a StoreError is its own: keep its cause)."""
    return error.__cause__ if isinstance(error, StoreError) else error


_UNREACHABLE = ("ConnectionRefusedError", "ConnectionError", "TimeoutError", "OSError", "gaierror")


def unopenable(store: str, error: BaseException) -> StoreError:
    """One line for a store that cannot be opened: which (password hidden), why, what to do.

    ``error`` is what SQLAlchemy or its driver raised; read by its words and type names, so
    that this module needs neither (the messages are SQLite's, asyncpg's, PostgreSQL's).
    """
    if isinstance(error, StoreError):  # said already (a newer schema, a missing directory)
        return error
    said = str(getattr(error, "orig", None) or error).split("\n")[0]
    lower = f"{said} {error}".lower()
    for words, meaning, advice in _ADVICE:
        if words in lower:
            return StoreError(f"the store {store} {meaning} ({said}): {advice}")
    names = {kind.__name__ for kind in type(error).__mro__}
    names |= {type(getattr(error, "orig", None)).__name__}
    if names & set(_UNREACHABLE) or "connection" in lower:
        return StoreError(
            f"cannot reach the database of the store {store} ({said or type(error).__name__}): "
            "is the server running, and are its host and port right?"
        )
    return StoreError(f"cannot open the store {store}: {said or type(error).__name__}")
