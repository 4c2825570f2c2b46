"""What every integration shares: a progress callback and the health/cancel contract.

Every outside system is one small async interface (a :class:`typing.Protocol`), so the
simulated observatory (``integrations.sim``) and the real clients are interchangeable. Each
has ``ping`` (read-only: can we reach it? used by the pre-flight check) and ``cancel`` (stop
the real operation this client started and has not finished: the script in the queue, the
running syncs; called when the lead cancels, a step times out, or the run is aborted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Report = Callable[[str], Awaitable[None]]
"""Called with a short progress line ("41/57 CSCs OFFLINE") while an operation waits."""


async def no_report(_text: str) -> None:
    """A progress callback that drops the line (for callers that do not show progress)."""


class Integration(Protocol):
    """The contract every integration keeps."""

    async def ping(self) -> None:
        """Return if the system answers; raise :class:`IntegrationError` saying why not."""
        ...

    async def cancel(self) -> None:
        """Stop whatever real operation this client started and has not finished."""
        ...
