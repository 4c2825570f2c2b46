"""The token bucket that paces Slack edits, on a clock the test moves."""

from __future__ import annotations

import pytest

from bot.slack.bucket import TokenBucket


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        """The time now."""
        return self.now


def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    """Four tokens at once, then one every 1.2 s at 50 a minute."""
    clock = Clock()
    bucket = TokenBucket(rate=50 / 60, burst=4, clock=clock)
    for _ in range(4):
        assert bucket.wait() == 0
        bucket.spend()
    assert bucket.wait() == pytest.approx(1.2)
    clock.now += 1.2
    assert bucket.wait() == pytest.approx(0)
    bucket.spend()
    clock.now += 600  # a long quiet: the bucket refills to its burst, no more
    for _ in range(4):
        assert bucket.wait() == 0
        bucket.spend()
    assert bucket.wait() > 0


def test_hold_waits_out_what_slack_said() -> None:
    """A 429's Retry-After (or Slack out of reach): no token until it has passed."""
    clock = Clock()
    bucket = TokenBucket(rate=10.0, burst=5, clock=clock)
    bucket.hold(30)
    assert bucket.wait() == pytest.approx(30)
    clock.now += 29
    assert bucket.wait() == pytest.approx(1)
    clock.now += 1
    assert bucket.wait() == 0


def test_a_bucket_needs_a_rate_and_a_burst() -> None:
    """Zero rate or burst is a configuration error, said at once."""
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst of at least 1"):
        TokenBucket(rate=1, burst=0)


def test_a_reserve_is_kept_for_what_cannot_wait() -> None:
    """With one token kept in reserve, three of four go; the fourth only without a reserve."""
    clock = Clock()
    bucket = TokenBucket(rate=50 / 60, burst=4, clock=clock)
    for _ in range(3):
        assert bucket.wait(reserve=1) == 0
        bucket.spend()
    assert bucket.wait(reserve=1) == pytest.approx(1.2)
    assert bucket.wait() == 0
    bucket.spend()
    assert bucket.wait() == pytest.approx(1.2)
    assert bucket.wait(reserve=1) == pytest.approx(2.4)
