"""Who sent a request, and from which channel, read from Slack's payloads.

A slash command carries ``user_id``, ``user_name``, ``channel_id`` and ``channel_name`` (a
private channel's name arrives as ``privategroup``: its id is what counts); an interaction
(``block_actions``, ``view_submission``) carries ``user`` with ``id``, ``username`` and
``name``, and a button its ``channel`` (or the message's ``container``). See
https://api.slack.com/interactivity/slash-commands and the interaction payloads' reference.
"""

from __future__ import annotations

from typing import Any

from bot.usecases.origin import Channel, Person


def commander(command: dict[str, Any]) -> Person:
    """Who typed the slash command."""
    return Person(str(command["user_id"]), command.get("user_name") or None)


def typed_in(command: dict[str, Any]) -> Channel:
    """Where the slash command was typed."""
    return Channel(str(command.get("channel_id", "")), str(command.get("channel_name", "")))


def presser(body: dict[str, Any]) -> Person:
    """Who pressed a button or submitted a form."""
    user = body["user"]
    return Person(str(user["id"]), user.get("name") or user.get("username") or None)


def pressed_in(body: dict[str, Any]) -> str | None:
    """The channel of the message whose button was pressed, if Slack says."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return str(channel) if channel else None
