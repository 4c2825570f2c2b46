"""The running bot's workers under structured concurrency: one that ends stops them all.

The workers (the Slack edit worker and front end, the lease's renewal, the ticker) are loops
that run as long as the process. One that ends while the bot runs, with an exception or at
all (a loop has no reason to return, and a cancel from outside is a kill), is logged with
why, and the whole block stops with :class:`WorkerDied`, so the process exits non-zero and
Kubernetes or systemd starts it again; it never goes on without it. Built on
:class:`asyncio.TaskGroup` (the block is cancelled, the other workers too), with two additions:
which worker is alive (``/healthz``, ``/metrics``), and the block's exception comes out as it
is rather than in an :class:`ExceptionGroup` (a test's failure reads as one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import structlog

from state.stored import LeaseLost

log = structlog.get_logger("upgrade_bot.supervisor")


class WorkerDied(Exception):
    """A worker of the running bot ended: the bot stops (and says which, and why)."""

    def __init__(self, worker: str, why: str) -> None:
        """Name the worker and how it ended."""
        super().__init__(f"the {worker} worker {why}")
        self.worker = worker


class Supervisor:
    """Named workers in one task group; enter :meth:`running`, then :meth:`start` each."""

    def __init__(self) -> None:
        """No worker yet."""
        self._group: asyncio.TaskGroup | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._works: list[Coroutine[Any, Any, None]] = []
        self._stopping: set[str] = set()
        self._closing = False
        self.died: WorkerDied | None = None
        """The first worker that died, once one has."""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The block the workers live in; leaving it stops those still running."""
        failed: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                try:
                    yield
                finally:
                    self._closing = True
                    for task in self._tasks.values():
                        task.cancel()
        except BaseExceptionGroup as group:
            failed = _one(group)
        finally:
            self._group = None
            for work in self._works:  # one cancelled before it began was never awaited
                work.close()
        if failed is not None:  # raised here, outside the handler: its own cause and context
            raise failed

    def start(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as the worker ``name`` until the block ends."""
        if self._group is None:
            work.close()
            raise RuntimeError("workers start inside Supervisor.running()")
        self._works.append(work)
        self._tasks[name] = self._group.create_task(self._watch(name, work), name=name)

    async def stop(self, name: str) -> None:
        """Stop one worker on purpose (a graceful stop goes in order); not a death."""
        task = self._tasks.get(name)
        if task is None or task.done():
            return
        self._stopping.add(name)
        task.cancel()
        await asyncio.wait([task])

    def alive(self) -> dict[str, bool]:
        """Each worker started, and whether it runs."""
        return {name: not task.done() for name, task in self._tasks.items()}

    async def _watch(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            if self._closing or name in self._stopping or self.died is not None:
                raise  # stopped on purpose, or because another worker died first
            why = "was cancelled"
            cause: BaseException | None = None
        except Exception as e:  # noqa: BLE001  # any end is a death: reported, then raised
            why, cause = f"failed: {e}", e
        else:
            why, cause = "ended", None
        if self.died is None:
            self.died = WorkerDied(name, why)
            trace = None if isinstance(cause, LeaseLost) else cause  # its words say it all
            log.critical("A worker died; the bot stops", worker=name, why=why, exc_info=trace)
        raise self.died from cause


def _one(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """What the block raises: the worker that died, else the block's own exception."""
    died = group.subgroup(WorkerDied)
    if died is not None:
        return died.exceptions[0]
    return group.exceptions[0] if len(group.exceptions) == 1 else group
