"""The store's schema version, and runs whose snapshot cannot be read, on SQLite and PostgreSQL.

A store written by a newer bot is refused in one line; one written before the version was
kept (schema 1) is upgraded when opened (see also ``test_store_fencing``: its new columns). A
snapshot that no longer loads is rebuilt from the run's events; a run whose events cannot be
read either is left out of the open runs, and said why, so that the other runs go on.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from state.commands import ActionSucceeded
from state.evolve import replay
from state.store import SCHEMA_VERSION, Store
from state.stored import StoreError
from tests.support.databases import rows
from tests.support.runs import T0, at, start_command

DAMAGED = '{"not": "a run"'
"""A snapshot cut short (the JSON does not even close)."""


async def execute(url: str, *statements: str) -> None:
    """Change the store behind its back (as a newer bot, or a damaged disk, would)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_a_new_store_records_its_schema_version(database_url: str) -> None:
    """Created at the current version, kept once."""
    for _ in range(2):
        await (await Store.open(database_url)).aclose()
    assert await rows(database_url, "SELECT version FROM store_schema") == [(SCHEMA_VERSION,)]


@pytest.mark.asyncio
async def test_a_store_of_a_newer_bot_is_refused(database_url: str) -> None:
    """Refused, naming both versions; nothing of it is changed."""
    await (await Store.open(database_url)).aclose()
    newer = SCHEMA_VERSION + 1
    await execute(database_url, f"UPDATE store_schema SET version = {newer}")  # noqa: S608  # ours
    words = (
        rf"written by a newer upgrade-bot \(schema {newer}; this one knows up to {SCHEMA_VERSION}\)"
    )
    with pytest.raises(StoreError, match=words):
        await Store.open(database_url)
    assert await rows(database_url, "SELECT version FROM store_schema") == [(SCHEMA_VERSION + 1,)]


@pytest.mark.asyncio
async def test_a_store_from_before_versions_is_upgraded(database_url: str) -> None:
    """No version kept (schema 1): the columns of schema 2 are added, the version recorded."""
    store = await Store.open(database_url)
    await store.start(start_command(), T0)
    await store.aclose()
    await execute(
        database_url,
        "DROP TABLE store_schema",
        "ALTER TABLE events DROP COLUMN epoch",
        "ALTER TABLE runs DROP COLUMN epoch",
    )
    store = await Store.open(database_url)
    try:
        run, _ = await store.apply("run-1", ActionSucceeded("check", 1), at(1))
        assert replay(await store.events("run-1")) == run
    finally:
        await store.aclose()
    assert await rows(database_url, "SELECT version FROM store_schema") == [(SCHEMA_VERSION,)]
    assert (None,) in await rows(database_url, "SELECT epoch FROM events")


@pytest.mark.asyncio
async def test_a_damaged_snapshot_is_rebuilt_and_never_stops_the_other_runs(
    database_url: str,
) -> None:
    """Tts's snapshot is garbage: rebuilt from its events. bts's events too: left out, said why."""
    store = await Store.open(database_url)
    try:
        tts, _ = await store.start(start_command("run-tts", "tts"), T0)
        tts, _ = await store.apply("run-tts", ActionSucceeded("check", 1), at(1))
        summit, _ = await store.start(start_command("run-summit", "summit"), T0)
        await store.start(start_command("run-bts", "bts"), T0)
        await execute(
            database_url,
            f"UPDATE runs SET snapshot = '{DAMAGED}' WHERE run_id IN ('run-tts', 'run-bts')",  # noqa: S608
            "UPDATE events SET body = 'garbage' WHERE run_id = 'run-bts'",
        )
        reopened = await Store.open(database_url)  # nothing cached: reads what is stored
        try:
            assert sorted(r.run_id for r in await reopened.open_runs()) == ["run-summit", "run-tts"]
            assert await reopened.get("run-tts") == tts
            assert await reopened.open_run("summit") == summit
            assert "run-bts" in reopened.unreadable
            assert "neither its snapshot" in reopened.unreadable["run-bts"]
            with pytest.raises(StoreError, match="run run-bts cannot be read"):
                await reopened.get("run-bts")
            _, events = await reopened.apply("run-tts", ActionSucceeded("manual", 1), at(2))
            assert events  # the rebuilt run goes on, and its snapshot is written whole again
            damaged = await rows(
                database_url, "SELECT run_id FROM runs WHERE snapshot LIKE '%a run%'"
            )
            assert damaged == [("run-bts",)]
        finally:
            await reopened.aclose()
    finally:
        await store.aclose()
