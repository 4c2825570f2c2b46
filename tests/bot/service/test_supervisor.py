"""The running bot's workers under one supervisor: a worker that ends stops the whole block."""

from __future__ import annotations

import asyncio

import pytest

from bot.service.supervisor import Supervisor, WorkerDied


async def forever() -> None:
    """A worker that runs until it is stopped, as the bot's workers do."""
    await asyncio.Event().wait()


async def fails(after: asyncio.Event) -> None:
    """A worker that fails once ``after`` is set."""
    await after.wait()
    raise ConnectionResetError("the Slack fake dropped the connection")


async def until_stopped(workers: Supervisor) -> list[str]:
    """Run a block beside the workers until it is cancelled; what it saw of them."""
    seen = []
    async with asyncio.timeout(10), workers.running():
        workers.start("edits", forever())
        workers.start("front", forever())
        seen.append(str(workers.alive()))
        await asyncio.sleep(0)
        workers._tasks["front"].cancel()  # killed from outside
        await asyncio.Event().wait()
        seen.append("not reached")
    return seen


@pytest.mark.asyncio
async def test_a_worker_that_fails_stops_the_block() -> None:
    """The block is cancelled, the other workers too, and the death comes out named."""
    workers = Supervisor()
    go = asyncio.Event()

    async def block() -> None:
        async with asyncio.timeout(10), workers.running():
            workers.start("edits", fails(go))
            workers.start("other", forever())
            assert workers.alive() == {"edits": True, "other": True}
            go.set()
            await asyncio.Event().wait()  # cancelled by the death
            pytest.fail("the block went on after a worker died")

    with pytest.raises(WorkerDied, match="the edits worker failed: the Slack fake dropped") as e:
        await block()
    assert isinstance(e.value.__cause__, ConnectionResetError)
    assert workers.alive() == {"edits": False, "other": False}
    assert workers.died is e.value


@pytest.mark.asyncio
async def test_a_worker_killed_from_outside_is_a_death() -> None:
    """A loop cancelled by someone else than its supervisor died: the block stops."""
    workers = Supervisor()
    with pytest.raises(WorkerDied, match="the front worker was cancelled"):
        await until_stopped(workers)
    assert workers.alive() == {"edits": False, "front": False}


@pytest.mark.asyncio
async def test_a_worker_that_returns_is_a_death() -> None:
    """A loop has no reason to end: one that returns stops the block too."""
    workers = Supervisor()

    async def block() -> None:
        async with asyncio.timeout(10), workers.running():
            workers.start("short", asyncio.sleep(0))
            await asyncio.Event().wait()

    with pytest.raises(WorkerDied, match="the short worker ended"):
        await block()


@pytest.mark.asyncio
async def test_the_blocks_own_error_and_a_stop_on_purpose() -> None:
    """The block's exception comes out as it is; stopping a worker on purpose is no death."""
    workers = Supervisor()

    async def block() -> None:
        async with workers.running():
            workers.start("a", forever())
            workers.start("b", forever())
            await workers.stop("a")
            assert workers.alive() == {"a": False, "b": True}
            assert workers.died is None
            raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        await block()
    assert workers.died is None
    assert workers.alive() == {"a": False, "b": False}
    late = forever()
    with pytest.raises(RuntimeError, match=r"inside Supervisor\.running"):
        workers.start("late", late)
