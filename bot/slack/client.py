"""How the bot calls the Slack Web API: a timeout, slack_sdk's own retries, and what is fatal.

Transient trouble is retried inside the SDK by its built-in handlers
(``slack_sdk.http_retry.builtin_async_handlers``): connection errors (a dropped connection,
a reset, a refused connect, and a call that timed out), HTTP 429 (waiting ``Retry-After``),
and HTTP 500/503, each a bounded number of times with the SDK's backoff. What is still failing
after that reaches the caller as :data:`TRANSPORT` or a ``SlackApiError``: the posting and
editing workers keep the message to send again later. A token Slack refuses (revoked,
deactivated) is :class:`SlackUnusable`: nothing can be posted any more, so the worker stops
with it and the process exits rather than run on silently.
"""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

CALL_TIMEOUT = 15.0
"""Seconds a Slack Web API call may take (the client's own timeout)."""

RETRIES = 2
"""Retries of one call after a connection error, or a server error (500, 503)."""

RATE_LIMIT_RETRIES = 3
"""Retries of one call Slack rate-limited (each after its ``Retry-After``)."""

TRANSPORT: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError, OSError)
"""What a call raises when Slack could not be reached or did not answer in time."""

UNDONE: tuple[type[BaseException], ...] = (SlackApiError, *TRANSPORT)
"""What a call raises when it did not do its work: Slack's refusal, or Slack out of reach."""

FATAL = frozenset(
    {
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_expired",
        "token_revoked",
        "team_access_not_granted",
    }
)
"""Slack's errors saying the bot's token is no good (https://api.slack.com/methods: the
errors every method may return): no call can succeed until an operator fixes it."""


class SlackUnusable(Exception):  # says what happened, as the house's errors do
    """Slack refuses the bot's token: nothing can be posted; the process must stop."""


def retry_handlers(*, backoff: float = 0.5) -> list[AsyncRetryHandler]:
    """slack_sdk's handlers: connection errors and timeouts, rate limits, server errors.

    ``backoff`` is the SDK's backoff factor (0.5 s, then 1 s...) for connection and server
    errors; a rate limit waits what Slack's ``Retry-After`` says.
    """
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff)
    connection = AsyncConnectionErrorRetryHandler(
        max_retry_count=RETRIES,
        interval_calculator=interval,
        error_types=[
            aiohttp.ServerConnectionError,  # ServerDisconnectedError, ServerTimeoutError
            aiohttp.ClientOSError,  # a reset, a refused connect
            asyncio.TimeoutError,  # the client's total timeout
        ],
    )
    return [
        connection,
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=RETRIES, interval_calculator=interval),
    ]


def error_of(e: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``), or the HTTP status when there is none."""
    error = e.response.get("error") if isinstance(e.response.data, dict) else None
    return str(error or f"HTTP {e.response.status_code}")


def fatal(e: SlackApiError) -> SlackUnusable | None:
    """The error as :class:`SlackUnusable` if it says the token is no good, else ``None``."""
    error = error_of(e)
    if error in FATAL:
        return SlackUnusable(f"Slack refuses the bot's token ({error}): fix SLACK_BOT_TOKEN")
    return None
