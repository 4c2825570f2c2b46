"""Slack's ``mrkdwn``: outside text made inert in it, and the bot's own live mentions.

Everything the bot posts (messages, announcements, notices, replies) is mrkdwn, where
``<!channel>``, ``<!here>``, ``<@U0123>`` and ``<https://…|…>`` are live: they notify people or
link. Slack's rule (https://api.slack.com/reference/surfaces/formatting#escaping) is to
escape ``&``, ``<`` and ``>`` as HTML entities in any text that is not meant as markup; that
alone makes every such token plain text, so :func:`escape` is the one function applied to
user text (notes, reasons, cycles, branches, names) and outside text (script errors, app
messages, logs) wherever it is put into a message. Only the bot's own markup stays live: the
mentions of :func:`mention` and the channel links of :func:`channel_link`.

The terminal shows the same texts: :func:`plain` turns them back into what a person reads.
"""

from __future__ import annotations

import re

_ID = re.compile(r"^[CDG][A-Z0-9]{6,}$")
"""A Slack conversation id (public ``C…``, private ``G…`` or ``C…``, direct ``D…``)."""

_MENTION = re.compile(r"<([@#!])([^>|]+)(?:\|([^>]*))?>")


def escape(text: str) -> str:
    """``text`` as plain text in mrkdwn: ``&``, ``<`` and ``>`` as entities, nothing live."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user: str) -> str:
    """A user mention, which notifies them (the bot's own, deliberate)."""
    return f"<@{user}>"


def is_channel_id(channel: str) -> bool:
    """Whether ``channel`` is a conversation id rather than a name."""
    return bool(_ID.match(channel))


def channel_link(channel: str) -> str:
    """A channel as Slack shows it: by id, a link with its current name; else its name."""
    return f"<#{channel}>" if is_channel_id(channel) else f"#{channel.lstrip('#')}"


def plain(text: str) -> str:
    """The text as a person reads it in a terminal: ``<@U0123>`` as ``@U0123``, entities undone."""

    def shown(found: re.Match[str]) -> str:
        sigil, target, label = found.groups()
        if label:
            return label if sigil == "!" else f"{sigil}{label}"
        return f"{'@' if sigil == '!' else sigil}{target}"

    unlinked = _MENTION.sub(shown, text)
    return unlinked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
