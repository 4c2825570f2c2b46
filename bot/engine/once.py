"""Post something once per run, and record that it was posted: announcements, notices, DMs.

A run's record keeps the key of everything the bot posted (``Announced``); before posting, the
record is read, so a retry, a restart or a second tick never posts twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from state.commands import Command, RecordAnnouncement

if TYPE_CHECKING:
    from state.run import Run
    from state.store import Store

Post = Callable[[], Awaitable[None]]
Once = Callable[[str, str, str | None, Post], Awaitable[datetime | None]]
"""``once(run_id, key, step_id, post)``: post unless recorded; when it was, if so."""


class PostOnce:
    """One lock per (run, key) around the check, the post and the record."""

    def __init__(self, store: Store, execute: Callable[[str, Command], Awaitable[Run]]) -> None:
        """Read the record from ``store``; record through ``execute`` (the engine's)."""
        self._store = store
        self._execute = execute
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def __call__(
        self, run_id: str, key: str, step_id: str | None, post: Post
    ) -> datetime | None:
        """Post unless the run recorded ``key``; when it was, if so. Posted means recorded.

        The check, the post and the record hold one lock per (run, key) and are shielded: a
        timeout or cancel that lands after the post cannot skip the record, and an attempt
        that starts meanwhile (a retry) waits and then finds it made.
        """
        lock = self._locks.setdefault((run_id, key), asyncio.Lock())

        async def guarded() -> datetime | None:
            async with lock:
                made = (await self._store.get(run_id)).announced.get(key)
                if made is not None:
                    return made
                await post()
                await self._execute(run_id, RecordAnnouncement(key, step_id))
                return None

        return await asyncio.shield(guarded())
