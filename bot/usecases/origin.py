"""Who asked, and from which channel: what a request tells the use cases about its origin.

The listeners read them from Slack's payload (a slash command's ``user_id``/``user_name`` and
``channel_id``/``channel_name``, an interaction's ``user``); the name is kept in the run, so
people are shown by name without a lookup and without a mention that would notify them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    """A Slack user: their id, and their name as the request carried it (if it did)."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """Where a command was typed: the channel's id, and its name.

    Slack sends a private channel's name as ``privategroup``: the id is what identifies it.
    """

    id: str
    name: str = ""
