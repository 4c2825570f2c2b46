"""What every simulated system shares: the one world, its clock, saving, and the armed hang."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from integrations.clock import Clock
from integrations.errors import IntegrationError
from integrations.sim.world import World

Persist = Callable[[dict[str, Any]], Awaitable[None]]


class Core:
    """The world and the clock it runs on, shared by the simulated systems of one site."""

    def __init__(self, world: World, clock: Clock, persist: Persist | None) -> None:
        """``persist`` is called with the whole document after each change an operation made."""
        self.world = world
        self.clock = clock
        self._persist = persist

    def now(self) -> float:
        """The clock's time in seconds since the epoch."""
        return self.clock.now().timestamp()

    def look(self) -> World:
        """The world brought up to now."""
        self.world.advance(self.now())
        return self.world

    async def save(self) -> None:
        """Keep the world (due effects need not be applied first: they replay from the doc)."""
        if self._persist is not None:
            await self._persist(self.world.doc)


class Part:
    """One simulated system: it answers from the shared world and can be made to hang."""

    system = "sim"
    """The system's name in errors (``LOVE``, ``ArgoCD``...)."""

    def __init__(self, core: Core) -> None:
        """Share the site's world."""
        self._core = core
        self._hang = False
        self._held: set[asyncio.Future[None]] = set()

    def arm_hang(self) -> None:
        """Make the next operation hang until it is cancelled (a step that hangs to its timeout)."""
        self._hang = True

    async def _enter(self) -> World:
        """Every operation starts here: hang if armed, then the world brought up to now."""
        if self._hang:
            self._hang = False
            held: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._held.add(held)
            try:
                await held  # only a cancel or the task's cancellation ends it
            finally:
                self._held.discard(held)
        return self._core.look()

    def _release_held(self) -> None:
        """A cancel ends a hung operation with an error, as a real client's abort would."""
        for held in self._held:
            if not held.done():
                held.set_exception(IntegrationError(self.system, "operation cancelled while hung"))

    async def ping(self) -> None:
        """Simulated systems answer unless a fault says otherwise (see subclasses)."""
        await self._enter()

    async def cancel(self) -> None:
        """Release a hung operation; subclasses also stop what they started."""
        self._release_held()
