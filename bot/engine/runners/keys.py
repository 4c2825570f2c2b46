"""The keys under which a run records what the bot said about a watch (made once each).

Written here once, because the watch's report, the direct messages to the principals and
the end announcement (which says who was told) all read them.
"""

from __future__ import annotations


def deadline_key(step_id: str, attempt: int) -> str:
    """The deadline report of a watch's attempt (a watch run again reports again)."""
    return f"deadline:{step_id}#{attempt}"


def dm_prefix(step_id: str, attempt: int) -> str:
    """What the keys of the direct messages about a watch's attempt begin with."""
    return f"dm:{step_id}#{attempt}:"


def dm_key(step_id: str, attempt: int, user: str) -> str:
    """The direct message to one principal about a watch's attempt."""
    return dm_prefix(step_id, attempt) + user
