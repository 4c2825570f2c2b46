"""A PostgreSQL restart under an open store: calls fail at once while it is down, never hang.

The store reconnects by itself when the server is back (``pool_pre_ping`` replaces the dead
connections). The server is this test's own, so that stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from state.commands import ActionSucceeded
from state.run import StepStatus
from state.store import Store
from state.stored import StoreError
from tests.support.postgres import Postgres, postgres
from tests.support.runs import T0, at, start_command

LIMIT = 15.0
"""Seconds a statement may take against a stopped server before the test calls it a hang."""


@pytest.fixture
def server() -> Iterator[Postgres]:
    """A PostgreSQL of this test's own."""
    with postgres() as server:
        yield server


@pytest_asyncio.fixture
async def store(server: Postgres) -> AsyncIterator[Store]:
    """A store on a new database of that server."""
    store = await Store.open(server.url(await server.create_database()))
    yield store
    await store.aclose()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_restarted_database_fails_fast_then_the_store_goes_on(
    server: Postgres, store: Store
) -> None:
    """Down: each call raises within the limit. Back: the same store writes and reads again."""
    await store.start(start_command(), T0)
    await store.take_lease("run", "host-a pid 1 [a]", T0, at(600) - T0)
    server.stop()
    async with asyncio.timeout(LIMIT):
        with pytest.raises(OSError, match="Connect call failed"):
            await store.apply("run-1", ActionSucceeded("check", 1), at(1))
        with pytest.raises(StoreError, match=r"cannot renew the lease: .*Connect call failed"):
            await store.confirm_lease(at(1))
    server.start()
    run, events = await store.apply("run-1", ActionSucceeded("check", 1), at(2))
    assert events
    assert run.step("check").status is StepStatus.SUCCEEDED  # type: ignore[union-attr]
    await store.confirm_lease(at(3))
    assert (await store.get("run-1")).version == run.version
