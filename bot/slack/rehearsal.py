"""A rehearsal's messages: every one the bot posts or edits starts with a visible marker.

In a rehearsal (``run --simulate``) the bot posts into the real workspace, often the real site
channels, so nobody may take one of its messages for a real run's: the marker is put on at the
one place every message passes, the Web API client (:class:`bot.app`'s ``api_call``), so that
no message can be forgotten: run headers, steps, notices, announcements, direct messages and
answers alike. The answers Bolt sends to a request's ``response_url`` do not pass through that
client: :class:`MarkedRespond` marks them. The text (what notifications and screen readers
show) starts with it, and a context block above the others says it where blocks are shown.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.webhook import WebhookResponse

from bot.slack.blocks import MAX_BLOCKS, context

MARK = ":test_tube: REHEARSAL"
"""The marker (an emoji shortcode Slack renders, and a word that reads without it)."""

MARKED = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
"""The Web API methods that post or edit a message (https://api.slack.com/methods)."""


def marked(method: str, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """The call's JSON body with the marker on its message; other calls as they are."""
    if method not in MARKED or payload is None or "channel" not in payload:
        return payload
    out = {**payload, "text": mark_text(str(payload.get("text") or ""))}
    blocks = payload.get("blocks")
    if isinstance(blocks, list) and blocks:
        line = context(f"{MARK} · the simulated observatory: nothing real is touched")
        out["blocks"] = [line, *blocks[: MAX_BLOCKS - 1]]
    return out


def mark_text(text: str) -> str:
    """``:test_tube: REHEARSAL · <text>`` (the marker alone for an empty text)."""
    return f"{MARK} · {text}" if text else MARK


class MarkedRespond(AsyncRespond):
    """Bolt's ``respond`` (an answer by the request's ``response_url``), with the marker."""

    async def __call__(  # type: ignore[override]  # the same call, text first
        self,
        text: str | dict[str, Any] = "",
        **kwargs: Any,  # noqa: ANN401  # Bolt's own keywords (blocks, response_type...), as given
    ) -> WebhookResponse:
        """The answer, its text marked (a dict is a whole message: its ``text`` marked)."""
        if isinstance(text, dict):
            text = {**text, "text": mark_text(str(text.get("text") or ""))}
        else:
            text = mark_text(text)
        return await super().__call__(text, **kwargs)
