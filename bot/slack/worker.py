"""A long-lived loop of the Slack front end (posting, editing) that never dies silently.

Transient trouble is handled inside the loop; what it cannot handle (Slack refusing the token,
a bug) ends its task *with* the exception, which is kept as :attr:`Worker.error`, logged, and
seen by whoever supervises the process's workers, so the process exits instead of leaving every
message frozen. :attr:`Worker.alive` is the liveness signal.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

import structlog

log = structlog.get_logger("upgrade_bot.slack")


class Worker(ABC):
    """Run :meth:`run` as a task; :attr:`alive` while it works, :attr:`error` once it died."""

    _running = False
    error: BaseException | None = None
    """What ended the loop, if it ended other than by being cancelled."""

    @property
    def alive(self) -> bool:
        """Whether the loop is working (started, and neither failed nor stopped)."""
        return self._running

    async def run(self) -> None:
        """Work until cancelled; an exception the loop cannot handle ends it, and is raised."""
        self._running = True
        try:
            await self._work()
        except asyncio.CancelledError:
            raise
        except BaseException as e:
            self.error = e
            log.exception("Slack worker stopped", worker=type(self).__name__)
            raise
        finally:
            self._running = False

    @abstractmethod
    async def _work(self) -> None:
        """The loop itself."""
