"""The Bolt app factory: the app and its Web API client, from the settings.

Listeners are added by :func:`handlers.register.register` once the use cases exist (the
composition in :mod:`bot.serve`); nothing else builds an ``AsyncApp``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config.file import ConfigError
from bot.config.settings import Settings
from bot.slack.client import CALL_TIMEOUT, retry_handlers
from bot.slack.rehearsal import marked


class _GuardedClient(AsyncWebClient):
    """The Web API client: every call is allowed first, and reported if it fails.

    ``guard`` raises when the bot may not act (it lost the store's lease: a frozen bot that
    wakes posts nothing); ``on_error`` counts failures for the metrics; in a ``rehearsal``
    every message is marked (:mod:`bot.slack.rehearsal`). Every Web API method of
    ``slack_sdk``'s ``AsyncWebClient`` goes through ``api_call``.
    """

    def __init__(
        self,
        *,
        guard: Callable[[], Awaitable[None]] | None,
        on_error: Callable[[str, str], None] | None,
        token: str,
        base_url: str,
        timeout: int,
        retry_handlers: list[AsyncRetryHandler],
        rehearsal: bool = False,
    ) -> None:
        super().__init__(
            token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers
        )
        self._guard = guard
        self._on_error = on_error or (lambda _method, _error: None)
        self._rehearsal = rehearsal

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # noqa: ANN401  # the base's keywords, passed on as they are
        """Call, if allowed; report a failure (Slack's error code, or the connection's)."""
        if self._guard is not None:
            await self._guard()
        if self._rehearsal and "json" in kwargs:
            kwargs["json"] = marked(api_method, kwargs["json"])
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as e:
            self._on_error(api_method, str(e.response.get("error") or e.response.status_code))
            raise
        except (TimeoutError, OSError) as e:  # aiohttp's connection errors are OSErrors
            self._on_error(api_method, type(e).__name__)
            raise


def build_app(
    settings: Settings,
    *,
    http: bool,
    guard: Callable[[], Awaitable[None]] | None = None,
    on_error: Callable[[str, str], None] | None = None,
    rehearsal: bool = False,
) -> AsyncApp:
    """The Bolt app with its Web API client on ``SLACK_API_URL`` (listeners added later).

    ``guard()`` is awaited before every Web API call and raises to forbid it;
    ``on_error(method, error)`` is told of every call that failed. The client retries what is
    transient with slack_sdk's own handlers (:func:`bot.slack.client.retry_handlers`). In a
    ``rehearsal`` every message it posts or edits carries the REHEARSAL marker.
    """
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    secret = settings.slack_signing_secret
    if http and secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request")
    client = _GuardedClient(
        guard=guard,
        on_error=on_error,
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(CALL_TIMEOUT),
        retry_handlers=retry_handlers(),
        rehearsal=rehearsal,
    )
    return AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=http,
    )
