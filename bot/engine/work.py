"""What the engine has under way: the tasks of its steps, and the commands being applied.

A step's task is its runner (the action) or a look (a preview, the stragglers read); at most
one per step. A graceful stop waits for the commands under way, then gives the runners a
grace period; what is still running then is cut off (:meth:`Work.cut`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator

from state.run import StepState

Key = tuple[str, str]
"""(run id, step id)."""


class Work:
    """The engine's tasks per step, and its count of commands under way."""

    def __init__(self) -> None:
        """Nothing under way."""
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._runners: dict[asyncio.Task[None], tuple[str, StepState]] = {}  # not the looks
        self._background: dict[Key, asyncio.Task[None]] = {}
        self._commands = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def spawn(
        self, run_id: str, state: StepState, work: Coroutine[object, object, None], kind: str
    ) -> None:
        """Start the step's task (``kind`` "run" for its action; anything else is a look)."""
        key = (run_id, state.id)
        task = asyncio.create_task(work, name=f"{kind} {run_id}/{state.id}#{state.attempt}")
        self._tasks[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(key) is done:
                del self._tasks[key]

        task.add_done_callback(forget)
        if kind == "run":
            self._runners[task] = (run_id, state)
            task.add_done_callback(lambda done: self._runners.pop(done, None))

    def background(self, run_id: str, step_id: str, work: Coroutine[object, object, None]) -> None:
        """Leave ``work`` running after its step ended (one per step; a new one replaces it).

        Never waited on by a stop (:meth:`cut`): it is cancelled with the rest, or by
        :meth:`end_background`.
        """
        key = (run_id, step_id)
        old = self._background.pop(key, None)
        if old is not None:
            old.cancel()
        task = asyncio.create_task(work, name=f"background {run_id}/{step_id}")
        self._background[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._background.get(key) is done:
                del self._background[key]

        task.add_done_callback(forget)

    async def end_background(self, run_id: str, step_id: str | None = None) -> bool:
        """Cancel the run's background work (one step's, or all) and wait; whether any ran."""
        keys = [k for k in self._background if k[0] == run_id and step_id in {None, k[1]}]
        tasks = [self._background.pop(k) for k in keys]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return bool(tasks)

    def following(self) -> list[Key]:
        """The steps with a task under way."""
        return sorted(self._tasks)

    def done_here(self, run_id: str, step_id: str) -> None:
        """The calling task (the step's own) has nothing left that a cancel could stop."""
        key = (run_id, step_id)
        if self._tasks.get(key) is asyncio.current_task():
            del self._tasks[key]

    async def unfollow(self, run_id: str, step_id: str) -> None:
        """Cancel the step's task (not from within it) and wait for it to end."""
        task = self._tasks.pop((run_id, step_id), None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every task and wait for them."""
        tasks = [*self._tasks.values(), *self._background.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._background.clear()

    @contextlib.contextmanager
    def command(self) -> Iterator[None]:
        """Count a command under way (from the store to the actions it starts)."""
        self._commands += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._commands -= 1
            if not self._commands:
                self._quiet.set()

    async def settle(self, within: float) -> bool:
        """Wait until no command is under way; ``False`` if one still was after ``within`` s."""
        try:
            await asyncio.wait_for(self._quiet.wait(), within)
        except TimeoutError:
            return False
        return True

    async def cut(self, grace: float) -> list[tuple[str, StepState]]:
        """Give the runners ``grace`` seconds; the (run id, step) of those still running."""
        if self._runners and grace > 0:
            await asyncio.wait(list(self._runners), timeout=grace)
        return [where for task, where in self._runners.items() if not task.done()]
