"""The Bolt app factory: the app and its Web API client, from the settings.

Listeners are added by :func:`handlers.register.register` once the use cases exist (the
composition in :mod:`bot.serve`); nothing else builds an ``AsyncApp``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.file import ConfigError
from bot.config.settings import Settings
from bot.slack.client import CALL_TIMEOUT, retry_handlers


def build_app(settings: Settings, *, http: bool) -> AsyncApp:
    """The Bolt app with its Web API client on ``SLACK_API_URL`` (listeners added later).

    The client retries what is transient with slack_sdk's own handlers
    (:func:`bot.slack.client.retry_handlers`).
    """
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    secret = settings.slack_signing_secret
    if http and secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request")
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(CALL_TIMEOUT),
        retry_handlers=retry_handlers(),
    )
    return AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        request_verification_enabled=http,
    )
