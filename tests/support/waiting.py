"""Waiting in tests for something that happens in the background, with a limit."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(predicate: Callable[[], object | Awaitable[object]], limit: float = 20.0) -> None:
    """Wait (at most ``limit`` real seconds) until ``predicate()`` holds (it may be async)."""
    async with asyncio.timeout(limit):
        while True:
            held = predicate()
            if inspect.isawaitable(held):
                held = await held
            if held:
                return
            # Polled: some conditions (a call hanging in a simulator, a fake's socket) are
            # nobody's event to wait on.
            await asyncio.sleep(0.01)
