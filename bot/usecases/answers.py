"""What a use case answers, for a listener to show: a reply, or a form to open.

Every refusal is a :class:`state.errors.RunError` turned into one clear, ephemeral line by
:func:`answered`; nothing changes when a request is refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from state.errors import RunError
from state.names import Site

_USER = re.compile(r"\b([UW][A-Z0-9]{6,})\b")

GONE = "That button is not one of ours any more."


def mentions(text: str) -> str:
    """User ids in a message (``Only the lead, U0123, can ...``) as Slack mentions."""
    return _USER.sub(r"<@\1>", text)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: ephemeral (only the asker sees it) unless ``public``."""

    text: str
    public: bool = False


@dataclass(frozen=True, slots=True)
class AskStart:
    """Open the start form for this site (the kind, cycle or branch were not given)."""

    site: Site
    cycle: str | None
    branch: str | None


@dataclass(frozen=True, slots=True)
class AskReason:
    """Open a form asking why (skip a step, abort the run) or a note (mark a step done)."""

    what: str
    """``skip``, ``abort`` or ``done``."""
    run_id: str
    step_id: str | None = None
    revision: int | None = None


@dataclass(frozen=True, slots=True)
class AskWindow:
    """Open a form asking how long an announcement is held back (integration testing)."""

    label: str
    window: timedelta
    run_id: str
    step_id: str
    revision: int


@dataclass(frozen=True, slots=True)
class AskTargets:
    """Open a form to edit the CSCs a stragglers step will send OFFLINE."""

    run_id: str
    step_id: str
    revision: int
    proposed: tuple[str, ...]


Answer = Reply | AskStart | AskReason | AskWindow | AskTargets


_A = TypeVar("_A", bound=Answer | None)


async def answered(work: Awaitable[_A]) -> _A | Reply:
    """The use case's answer, or its refusal as one line (user ids shown as mentions)."""
    try:
        return await work
    except RunError as e:
        return Reply(mentions(str(e)))


def hm(at: datetime) -> str:
    """``14:05 UTC``."""
    return at.strftime("%H:%M UTC")
