"""The store's databases for tests: a SQLite file, and a database on a real PostgreSQL.

``database_url`` is parametrized over both, so that every test that takes it runs on each (its
id says which). PostgreSQL is skipped, saying why, only where its binaries are not installed;
CI installs them (``.ci/run``), so there it always runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from state.store_url import sqlite_url
from tests.support.postgres import Postgres, postgres

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One PostgreSQL for the whole session (each test makes a database of its own on it)."""
    with postgres() as server:
        yield server


@pytest_asyncio.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty store: a SQLite file, or a new database on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(str(tmp_path / "runs.db"))
    server: Postgres = request.getfixturevalue("postgres_server")
    return server.url(await server.create_database())


async def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query on the store at ``url``, read apart from the store under test."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql))]
    finally:
        await engine.dispose()
