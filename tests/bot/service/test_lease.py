"""The store's lease as the running bot and the demo take it: refuse, replace, wait, keep, guard.

Two stores on one SQLite file stand for two processes. A holder "on this host" with this
test's own pid is alive; one with the pid of a process that has exited is gone.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.service.lease import NAME, Holder, Lease, LeaseHeld
from state.store import Store
from state.store_url import sqlite_url
from state.stored import LeaseLost
from tests.support.waiting import until

HOST = socket.gethostname()


@pytest_asyncio.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one file."""
    url = sqlite_url(str(tmp_path / "bot.db"))
    first, second = await Store.open(url), await Store.open(url)
    yield first, second
    await first.aclose()
    await second.aclose()


def exited_pid() -> int:
    """The pid of a process of this host that has ended (and was reaped)."""
    command = [sys.executable, "-c", "import os; print(os.getpid())"]
    process = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603  # ours
    return int(process.stdout)


async def held_by(store: Store, holder: Holder, ttl: float = 30.0) -> None:
    """``holder`` takes the lease through ``store``."""
    now = datetime.now(UTC)
    assert await store.take_lease(NAME, str(holder), now, timedelta(seconds=ttl)) is None


def test_a_holder_is_written_and_read_back() -> None:
    """``host pid N [token]``; gone only if on this host and its process has ended."""
    me = Holder.me()
    assert Holder.parse(str(me)) == me
    assert Holder.parse("somebody else") is None
    assert not me.gone()
    assert Holder(HOST, exited_pid(), "x").gone()
    assert not Holder("another-host.example", exited_pid(), "x").gone()


@pytest.mark.asyncio
async def test_a_live_holder_on_this_host_is_refused(stores: tuple[Store, Store]) -> None:
    """Another live process drives the store: one line, who, and what to do."""
    first, second = stores
    other = Holder(HOST, Holder.me().pid, "abc123")  # alive: this very process
    await held_by(first, other)
    with pytest.raises(LeaseHeld, match=rf"drives this store: {HOST} pid \d+ \[abc123\], until "):
        await Lease(store=second).take(wait_elsewhere=True, refusal="Stop it.")


@pytest.mark.asyncio
async def test_a_gone_holder_is_replaced_at_once(stores: tuple[Store, Store]) -> None:
    """A demo killed on this host: the next one takes over without waiting for expiry."""
    first, second = stores
    gone = Holder(HOST, exited_pid(), "dead00")
    await held_by(first, gone, ttl=600)
    said: list[str] = []
    lease = Lease(store=second)
    await asyncio.wait_for(lease.take(say=said.append), 5)
    assert said == [f"took the store over from {gone}: that process is gone"]
    assert lease.epoch == 2
    with pytest.raises(LeaseLost):
        await first.confirm_lease()  # the old holder's store is fenced out


@pytest.mark.asyncio
async def test_a_holder_elsewhere_is_waited_for_saying_so(stores: tuple[Store, Store]) -> None:
    """On another host nobody can tell: the lease's expiry decides, and the wait is said."""
    first, second = stores
    await held_by(first, Holder("another-host.example", 4242, "beef"), ttl=1.5)
    said: list[str] = []
    lease = Lease(store=second)
    await asyncio.wait_for(lease.take(wait_elsewhere=True, say=said.append), 10)
    assert len(said) == 1
    assert said[0].startswith("waiting for the store's lease, held by another-host.example ")
    assert said[0].endswith("(it runs on another host)")
    assert lease.epoch == 2


@pytest.mark.asyncio
async def test_a_standby_takes_over_when_the_lease_is_released(stores: tuple[Store, Store]) -> None:
    """A standby waits while the holder lives, and takes the lease as soon as it is free."""
    first, second = stores
    driver = Lease(store=first)
    await driver.take()
    standby = Lease(store=second)
    waiting = asyncio.create_task(standby.take(standby=True, say=lambda _text: None))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await driver.release()
    await asyncio.wait_for(waiting, 5)
    assert standby.epoch == 2
    assert driver.lost


async def taken_by(store: Store, holder: str) -> None:
    """Wait until ``holder`` takes the lease through ``store`` (once it has expired)."""

    async def taken() -> bool:
        now = datetime.now(UTC)
        return await store.take_lease(NAME, holder, now, timedelta(seconds=30)) is None

    await until(taken, limit=10)


@pytest.mark.asyncio
async def test_a_bot_that_froze_past_its_lease_finds_it_taken(stores: tuple[Store, Store]) -> None:
    """It stalled past its term and a standby took over: its first write says so; keep ends."""
    first, second = stores
    lease = Lease(store=first, ttl=timedelta(seconds=1))  # frozen: its renewal does not run
    await lease.take()
    await taken_by(second, "the standby")
    assert await lease.check() == "not held by this bot (held by the standby)"
    with pytest.raises(LeaseLost, match="now held by the standby, epoch 2"):
        await first.put_blob("sim/summit", "{}")
    with pytest.raises(LeaseLost, match="now held by the standby, epoch 2"):
        await asyncio.wait_for(lease.keep(), 5)  # it wakes: the store already knows


@pytest.mark.asyncio
async def test_keep_ends_when_its_renewal_finds_the_lease_taken(
    stores: tuple[Store, Store],
) -> None:
    """The renewal itself finds another bot holds the lease (a gone holder replaced)."""
    first, second = stores
    lease = Lease(store=first, ttl=timedelta(seconds=3))  # renewed every second
    await lease.take()
    keeping = asyncio.create_task(lease.keep())
    now = datetime.now(UTC)
    replaced = str(lease.holder)
    assert (
        await second.take_lease(NAME, "b", now, timedelta(seconds=30), replacing=replaced) is None
    )
    with pytest.raises(LeaseLost, match="now held by b, epoch 2"):
        await asyncio.wait_for(keeping, 5)


@pytest.mark.asyncio
async def test_the_guard_asks_the_store_once_half_the_term_passed(
    stores: tuple[Store, Store],
) -> None:
    """Just renewed: nobody else can hold it. Later: the store is asked, and says who does."""
    first, second = stores
    lease = Lease(store=first, ttl=timedelta(seconds=1))
    await lease.take()
    await lease.guard()
    assert await lease.check() is None

    await taken_by(second, "b")  # the lease expired (1 s) and the other bot took it
    with pytest.raises(LeaseLost):
        await lease.guard()
    assert lease.lost
