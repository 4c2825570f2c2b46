"""The durable store: every run's events, appended with its snapshot in one transaction.

SQLAlchemy 2 async: SQLite (``aiosqlite``) by default, PostgreSQL (``asyncpg``) as the server
store. Its rules (appended events, optimistic locking, one writer at a time in a process, one
open run per site, progress apart from history, writes fenced by the lease's epoch, versioned
schema) and why: ``docs/architecture.md``, "The store".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import Column, ForeignKey, MetaData, Table
from sqlalchemy.sql import case, delete, insert, or_, select, text, update
from sqlalchemy.types import Integer, String, Text

from state.errors import RunAlreadyActive, RunError
from state.events import EVENT_ADAPTER, Event
from state.evolve import fold, replay
from state.machine import decide, interrupt_running, start
from state.run import Run
from state.store_url import DEFAULT_URL, OPEN_LIMIT, engine_options
from state.stored import (
    FIXED,
    FREE,
    Busy,
    LeaseInfo,
    LeaseLost,
    Progress,
    StoreError,
    VersionConflict,
    cause_of,
    event_rows,
    run_row,
    sqlite_pragmas,
    unopenable,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from sqlalchemy.engine import Connection

    from state.commands import Command, StartRun
    from state.names import Site

metadata = MetaData()

# fmt: off
runs = Table(
    "runs", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("site", String(16), nullable=False, index=True),
    Column("open_site", String(16), unique=True, nullable=True),
    Column("status", String(16), nullable=False), Column("version", Integer, nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("snapshot", Text, nullable=False), Column("epoch", Integer, nullable=True),
)
events = Table(
    "events", metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("seq", Integer, primary_key=True), Column("type", String(40), nullable=False),
    Column("v", Integer, nullable=False), Column("at", String(40), nullable=False),
    Column("actor", String(64), nullable=False), Column("body", Text, nullable=False),
    Column("epoch", Integer, nullable=True),
)
progress = Table(
    "progress", metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("step_id", String(64), primary_key=True), Column("attempt", Integer, nullable=False),
    Column("text", Text, nullable=False), Column("at", String(40), nullable=False),
)
blobs = Table(
    "blobs", metadata,
    Column("key", String(128), primary_key=True), Column("body", Text, nullable=False),
)
"""Small named documents kept beside the runs (the simulated observatory's state)."""

leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True), Column("holder", String(200), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("epoch", Integer, nullable=False, server_default="0"),
)
"""Who drives the store (``holder`` empty once released). The ``epoch`` of other tables is that
of the lease a row was written under (empty: by a store that took none, or an older bot)."""

store_schema = Table("store_schema", metadata, Column("version", Integer, nullable=False))
"""The schema version the store was last written with (one row; none: version 1)."""
# fmt: on

SCHEMA_VERSION = 2
"""1: the tables before epochs and versions; 2: the lease's epochs, and this table."""


class Store:
    """Runs and their events. Create with :meth:`open`, close with :meth:`aclose`."""

    APPLY_ATTEMPTS = 5
    """How often :meth:`apply` decides again after losing a race (each loss means progress)."""

    def __init__(self, *, engine: AsyncEngine, busy: Busy | None = None) -> None:
        """Use :meth:`open`; this takes an engine whose schema exists."""
        self._engine = engine
        self._busy = busy or nullcontext
        self._in_turn = busy is not None  # a virtual clock watches: one statement at a time
        self._write = asyncio.Lock()
        self._last: dict[str, Run] = {}  # run_id -> the snapshot this process saved last
        self._fence: LeaseInfo | None = None  # the lease this store took, if any
        self._ttl = 0.0  # for how many seconds it takes it
        self._confirmed = 0.0  # when the store last said it was ours (monotonic)
        self._lost: str | None = None  # why the lease is no longer ours, once it is not
        self.unreadable: dict[str, str] = {}
        """Runs that could not be read, and why (reported by the engine; see :meth:`_loaded`)."""
        self.lease_lost = asyncio.Event()
        """Set when a write finds the lease taken by another bot (the process must stop)."""

    @classmethod
    async def open(cls, url: str = DEFAULT_URL, *, busy: Busy | None = None) -> Store:
        """Connect; create the tables of a new store, upgrade an older one; else StoreError.

        ``busy`` is entered around every statement: a virtual clock holds simulated time still
        while the store works in its thread, so that a slow disk never lets a deadline pass.
        """
        shown = _shown(url)
        try:
            engine = _engine(url, shown)
        except Exception as e:  # noqa: BLE001  # any driver's: told in one line
            raise unopenable(shown, e) from cause_of(e)
        try:
            async with asyncio.timeout(OPEN_LIMIT), engine.begin() as conn:
                if engine.dialect.name == "postgresql":  # two bots opening a new database
                    await conn.execute(text("SELECT pg_advisory_xact_lock(20261117)"))
                await conn.run_sync(_migrate, shown)
        except Exception as e:  # noqa: BLE001  # any driver's or server's: one line
            await engine.dispose()
            raise unopenable(shown, e) from cause_of(e)
        return cls(engine=engine, busy=busy)

    async def aclose(self) -> None:
        """Close every connection."""
        await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read with, held busy; on a virtual clock, in turn with the writes."""
        # Then statements complete in the order asked: a simulation's trace is the same anywhere.
        async with self._write if self._in_turn else contextlib.nullcontext():
            with self._busy():
                async with self._engine.connect() as conn:
                    yield conn

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction to write in, held busy."""
        with self._busy():
            async with self._engine.begin() as conn:
                yield conn

    async def ping(self) -> None:
        """Raise unless the database answers (for the health check)."""
        async with self._connect() as conn:
            await conn.execute(select(1))

    @contextlib.asynccontextmanager
    async def _writing(self, renew: datetime | None = None) -> AsyncIterator[AsyncConnection]:
        """A fenced write: the writes take SQLite's write lock, then the fence, then commit."""
        if self._lost is not None:
            raise LeaseLost(self._lost)
        async with self._write, self._begin() as conn:
            yield conn
            await self._check_fence(conn, renew)

    async def _check_fence(self, conn: AsyncConnection, renew: datetime | None) -> None:
        """The lease row still names this store at its epoch, or refuse (roll back).

        Renewed less than half a term ago (by this monotonic clock), nobody else can hold it
        yet: no statement. Else (a renewal, or a process that stalled) an UPDATE renews it,
        taking the row's lock (PostgreSQL) so that no other bot takes it before the commit.
        """
        fence, began = self._fence, time.monotonic()
        if fence is None or (renew is None and began - self._confirmed < self._ttl / 2):
            return  # not fenced (a store that took no lease: tests, ``report``), or fresh
        mine = (leases.c.holder == fence.holder, leases.c.epoch == fence.epoch)
        until = (renew or datetime.now(UTC)) + timedelta(seconds=self._ttl)
        check = update(leases).where(leases.c.name == fence.name, *mine)
        if (await conn.execute(check.values(expires_at=until.isoformat()))).rowcount == 1:
            self._confirmed = began
            return
        row = (await conn.execute(select(leases).where(leases.c.name == fence.name))).first()
        held = f"now held by {row.holder}, epoch {row.epoch}" if row and row.holder else "free"
        self._lost = f"the store's lease (epoch {fence.epoch}) is lost: {held}"
        self.lease_lost.set()
        raise LeaseLost(self._lost)

    @property
    def lease_epoch(self) -> int | None:
        """The epoch of the lease this store holds (``None``: it took none, or lost it)."""
        return None if self._fence is None or self._lost else self._fence.epoch

    async def start(self, command: StartRun, now: datetime) -> tuple[Run, list[Event]]:
        """Open a run (refused if the site has one open) and store its first events."""
        run, new = start(await self.open_run(command.site), command, now)
        try:
            async with self._writing() as conn:
                await conn.execute(insert(runs).values(**run_row(run, now, self.lease_epoch)))
                await conn.execute(insert(events), event_rows(run.run_id, 0, new, self.lease_epoch))
        except IntegrityError as e:
            other = await self.open_run(command.site)
            if other is None:  # not the open-site constraint: a reused run id
                raise StoreError(f"cannot store run {run.run_id}: {e.orig}") from e
            raise RunAlreadyActive(other.site, other.run_id, other.lead) from e
        self._last[run.run_id] = run
        return run, new

    async def apply(self, run_id: str, command: Command, now: datetime) -> tuple[Run, list[Event]]:
        """Decide ``command`` on the stored run, store what it caused: (run, new events)."""
        # No events: it was applied already. If another command lands first: decide again.
        for _ in range(self.APPLY_ATTEMPTS):
            run = self._last.get(run_id) or await self.get(run_id)
            new = decide(run, command, now)
            if not new:
                return run, []
            after = fold(run, new)
            try:
                await self.save(run.version, after, new)
            except VersionConflict:
                self._last.pop(run_id, None)
                continue
            return after, new
        raise StoreError(f"run {run_id} kept changing; command not applied")

    async def save(self, expected_version: int, run: Run, new: Sequence[Event]) -> None:
        """Append ``new`` and write ``run`` (their fold) if still at ``expected_version``."""
        row = run_row(run, new[-1].at, self.lease_epoch)
        try:
            async with self._writing() as conn:
                result = await conn.execute(
                    update(runs)
                    .where(runs.c.run_id == run.run_id, runs.c.version == expected_version)
                    .values(**{k: v for k, v in row.items() if k not in FIXED})
                )
                if result.rowcount != 1:
                    raise VersionConflict(run.run_id, expected_version)
                rows = event_rows(run.run_id, expected_version, new, self.lease_epoch)
                await conn.execute(insert(events), rows)
        except OperationalError as e:  # SQLite: a read snapshot that went stale under WAL
            if "locked" in str(e.orig) or "busy" in str(e.orig):
                raise VersionConflict(run.run_id, expected_version) from e
            raise
        if run.status.open:
            self._last[run.run_id] = run
        else:
            self._last.pop(run.run_id, None)

    async def recover(self, now: datetime) -> list[Run]:
        """At start-up: steps found running become interrupted. Returns the runs changed."""
        changed = []
        for run in await self.open_runs():
            new = interrupt_running(run, now)
            if new:
                after = fold(run, new)
                await self.save(run.version, after, new)
                changed.append(after)
        return changed

    async def get(self, run_id: str) -> Run:
        """The run's snapshot; :class:`RunError` if there is no such run."""
        async with self._connect() as conn:
            snapshot = await conn.scalar(select(runs.c.snapshot).where(runs.c.run_id == run_id))
        if snapshot is None:
            raise RunError(f"There is no run {run_id!r}.")
        loaded = await self._loaded([(run_id, snapshot)])
        if not loaded:
            raise StoreError(f"run {run_id} cannot be read: {self.unreadable[run_id]}")
        if loaded[0].status.open:
            self._last[run_id] = loaded[0]
        return loaded[0]

    async def open_run(self, site: Site) -> Run | None:
        """The site's open (active or paused) run, if any."""
        found = await self._runs(runs.c.open_site == site)
        return found[0] if found else None

    async def open_runs(self) -> list[Run]:
        """Every open run, at most one per site."""
        return await self._runs(runs.c.open_site.is_not(None))

    async def recent(self, site: Site | None = None, limit: int = 10) -> list[Run]:
        """The latest runs, newest first, of one site or all."""
        where = runs.c.site == site if site else None
        return await self._runs(where, limit=limit)

    async def events(self, run_id: str) -> list[Event]:
        """The run's events in order."""
        async with self._connect() as conn:
            rows = await conn.execute(
                select(events.c.body).where(events.c.run_id == run_id).order_by(events.c.seq)
            )
            return [EVENT_ADAPTER.validate_json(body) for (body,) in rows]

    async def set_progress(
        self, run_id: str, step_id: str, attempt: int, text: str, now: datetime
    ) -> None:
        """Keep the latest progress line of a running step (overwritten, not history)."""
        values = {"attempt": attempt, "text": text, "at": now.isoformat()}
        async with self._writing() as conn:
            await _upsert(conn, progress, {"run_id": run_id, "step_id": step_id}, values)

    async def progress(self, run_id: str) -> dict[str, Progress]:
        """The latest progress line of each step of the run that has one."""
        async with self._connect() as conn:
            rows = await conn.execute(select(progress).where(progress.c.run_id == run_id))
            at = datetime.fromisoformat
            return {r.step_id: Progress(r.step_id, r.attempt, r.text, at(r.at)) for r in rows}

    async def clear_progress(self, run_id: str, step_id: str) -> None:
        """Forget a step's progress (its attempt ended)."""
        async with self._writing() as conn:
            await conn.execute(
                delete(progress).where(progress.c.run_id == run_id, progress.c.step_id == step_id)
            )

    async def put_blob(self, key: str, body: str) -> None:
        """Keep a named document (replacing the previous one)."""
        async with self._writing() as conn:
            await _upsert(conn, blobs, {"key": key}, {"body": body})

    async def take_lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, replacing: str | None = None
    ) -> str | None:
        """Hold (or renew) the lease ``name`` until ``now + ttl``; this store is then fenced.

        ``None`` when ``holder`` has it now; else who holds it, until when. One conditional
        UPDATE decides: of two processes racing for an expired lease exactly one gets it.
        ``replacing``: a holder known gone, replaced at once. The epoch grows with each holder.
        """
        free = or_(leases.c.holder == holder, leases.c.expires_at <= now.isoformat())
        if replacing is not None:
            free = or_(free, leases.c.holder == replacing)
        epoch = case((leases.c.holder == holder, leases.c.epoch), else_=leases.c.epoch + 1)
        first = insert(leases).values(name=name, holder="", expires_at=FREE)
        until = {"holder": holder, "expires_at": (now + ttl).isoformat(), "epoch": epoch}
        began = time.monotonic()
        try:
            async with self._write, self._begin() as conn:
                with contextlib.suppress(IntegrityError):  # the row exists: nothing to add
                    async with conn.begin_nested():  # a savepoint: the failure is contained
                        await conn.execute(first)
                result = await conn.execute(
                    update(leases).where(leases.c.name == name, free).values(**until)
                )
                row = (await conn.execute(select(leases).where(leases.c.name == name))).one()
        except (DBAPIError, OSError) as e:  # busy beyond busy_timeout (frozen writer), or gone
            raise StoreError(f"cannot take the lease: {getattr(e, 'orig', e)}") from e
        if result.rowcount != 1:
            return f"{row.holder}, until {row.expires_at}"
        self._fence = LeaseInfo(name, holder, now + ttl, row.epoch)
        self._ttl, self._lost, self._confirmed = ttl.total_seconds(), None, began
        return None

    async def confirm_lease(self, now: datetime | None = None) -> None:
        """Renew this store's lease from ``now`` (wall time), or raise :class:`LeaseLost`."""
        try:
            async with self._writing(now or datetime.now(UTC)):
                pass
        except (DBAPIError, OSError) as e:  # busy beyond busy_timeout (frozen writer), or gone
            raise StoreError(f"cannot renew the lease: {getattr(e, 'orig', e)}") from e

    async def lease(self, name: str) -> LeaseInfo | None:
        """Who holds the lease ``name`` (``None``: nobody ever did, or it was released)."""
        async with self._connect() as conn:
            row = (await conn.execute(select(leases).where(leases.c.name == name))).first()
        if row is None or not row.holder:
            return None
        return LeaseInfo(name, row.holder, datetime.fromisoformat(row.expires_at), row.epoch)

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up if ``holder`` has it (the row stays, free: epochs only grow)."""
        async with self._write, self._begin() as conn:
            mine = (leases.c.name == name, leases.c.holder == holder)
            await conn.execute(update(leases).where(*mine).values(holder="", expires_at=FREE))
        if self._fence is not None and (self._fence.name, self._fence.holder) == (name, holder):
            self._lost = self._lost or "the store's lease was released"

    async def get_blob(self, key: str) -> str | None:
        """A named document, if kept."""
        async with self._connect() as conn:
            body: str | None = await conn.scalar(select(blobs.c.body).where(blobs.c.key == key))
            return body

    async def _runs(self, where: Any, limit: int | None = None) -> list[Run]:  # noqa: ANN401  # a SQL clause
        query = select(runs.c.run_id, runs.c.snapshot).order_by(runs.c.started_at.desc())
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        async with self._connect() as conn:
            rows = [(run_id, snapshot) for run_id, snapshot in await conn.execute(query)]
        return await self._loaded(rows)

    async def _loaded(self, rows: Sequence[tuple[str, str]]) -> list[Run]:
        """These snapshots' runs; one unreadable rebuilt from its events, or else left out."""
        loaded = []
        for run_id, snapshot in rows:
            try:
                loaded.append(Run.model_validate_json(snapshot))
            except ValueError as bad:
                try:
                    loaded.append(replay(await self.events(run_id)))
                except ValueError as worse:
                    why = f"its snapshot ({bad.__class__.__name__}) nor its events ({worse})"
                    self.unreadable[run_id] = f"neither {why} can be read"
        return loaded


async def _upsert(conn: AsyncConnection, table: Table, key: dict[str, Any], values: Any) -> None:  # noqa: ANN401  # columns' values
    """Replace the row of ``table`` at ``key`` by ``values``, or insert it."""
    where = [table.c[column] == value for column, value in key.items()]
    result = await conn.execute(update(table).where(*where).values(**values))
    if result.rowcount == 0:
        await conn.execute(insert(table).values(**key, **values))


def _shown(url: str) -> str:
    """The store as people know it: a SQLite file's path, or the URL without its password."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return repr(url.rsplit("@", maxsplit=1)[-1])  # unparseable: never the part a password is in
    if parsed.drivername == "sqlite+aiosqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _engine(url: str, shown: str) -> AsyncEngine:
    """An engine for ``url``: SQLite's pragmas, a server's timeouts and reconnection."""
    engine = create_async_engine(url, **engine_options(make_url(url).get_backend_name()))
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            path = Path(database)
            if not path.parent.is_dir():
                raise StoreError(f"the store {shown} cannot be made: directory {path.parent} "
                                 "does not exist")  # fmt: skip
            if path.exists() and not path.stat().st_mode & 0o222:  # even for root: meant so
                raise unopenable(shown, PermissionError("readonly: no write permission"))
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


def _migrate(conn: Connection, shown: str) -> None:
    """Create what is missing; refuse a newer schema; upgrade an older one (see the docs)."""
    tables = set(inspect(conn).get_table_names())
    found = conn.scalar(select(store_schema.c.version)) if "store_schema" in tables else None
    version = found or (1 if "runs" in tables else SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {shown} was written by a newer upgrade-bot (schema {version}; this one "
            f"knows up to {SCHEMA_VERSION}): run the newer bot, or give another --db"
        )
    metadata.create_all(conn)
    for step in _MIGRATIONS[version - 1 : SCHEMA_VERSION - 1]:
        step(conn)
    if found != SCHEMA_VERSION:
        conn.execute(delete(store_schema))
        conn.execute(insert(store_schema).values(version=SCHEMA_VERSION))


def _add_missing_columns(conn: Connection) -> None:
    """A store written by an older bot: add the columns it lacks (each nullable or defaulted)."""
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} "
            ddl += column.type.compile(conn.dialect)
            if column.server_default is not None:
                ddl += f" NOT NULL DEFAULT {column.server_default.arg}"  # type: ignore[attr-defined]  # a DefaultClause
            conn.execute(text(ddl))


_MIGRATIONS = (_add_missing_columns,)
"""The upgrade from version ``i + 1`` to ``i + 2`` at index ``i``."""
