"""A token bucket: calls paced at a steady rate, with a small burst, paused when told to.

Slack's ``chat.update`` is a Tier 3 method, about 50 calls a minute per app
(https://api.slack.com/apis/rate-limits): a bucket refilled at that rate lets a few edits out
at once (a click shows at once) and then paces the rest, instead of sleeping a fixed gap after
every call. On HTTP 429 Slack says how long to wait (``Retry-After``): :meth:`TokenBucket.hold`
empties the bucket until then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` kept; one token per call."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Start full (a burst may go at once)."""
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._not_before = 0.0

    def wait(self) -> float:
        """Seconds until a token is there (0: one is there now)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        missing = max(0.0, 1.0 - self._tokens) / self._rate
        return max(missing, self._not_before - now)

    def spend(self) -> None:
        """Use one token (after :meth:`wait` said 0)."""
        self._tokens -= 1.0

    async def take(self) -> None:
        """Wait for a token and use it."""
        while (delay := self.wait()) > 0:  # noqa: ASYNC110  # time passing is what it waits for
            await asyncio.sleep(delay)
        self.spend()

    def hold(self, seconds: float) -> None:
        """No token for ``seconds`` (a 429's ``Retry-After``, or Slack out of reach)."""
        self._not_before = max(self._not_before, self._clock() + seconds)
        self._tokens = 0.0
