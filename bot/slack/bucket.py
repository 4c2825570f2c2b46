"""A token bucket: calls paced at a steady rate, with a small burst, paused when told to.

Slack's ``chat.update`` is a Tier 3 method, about 50 calls a minute per app
(https://api.slack.com/apis/rate-limits: "per API method per app per workspace", "sporadic
bursts are welcome"): a bucket refilled at that rate lets a few edits out at once (a click
shows at once) and then paces the rest, instead of sleeping a fixed gap after every call. A
caller may keep tokens in ``reserve`` for what cannot wait (:meth:`TokenBucket.wait`): the
bot's own progress edits leave the last tokens to the next click, so that a click never waits
behind them for the refill (1.2 s a token at 50 a minute). On HTTP 429 Slack says how long to
wait (``Retry-After``): :meth:`TokenBucket.hold` empties the bucket until then.
"""

from __future__ import annotations

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

    def wait(self, reserve: int = 0) -> float:
        """Seconds until a token is there beyond ``reserve`` kept ones (0: it is there now)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        missing = max(0.0, 1.0 + reserve - self._tokens) / self._rate
        return max(missing, self._not_before - now)

    def spend(self) -> None:
        """Use one token (after :meth:`wait` said 0)."""
        self._tokens -= 1.0

    def hold(self, seconds: float) -> None:
        """No token for ``seconds`` (a 429's ``Retry-After``, or Slack out of reach)."""
        self._not_before = max(self._not_before, self._clock() + seconds)
        self._tokens = 0.0
