"""What a use case answers, for a listener to show: a reply, or a form to open.

Every refusal is a :class:`state.errors.RunError` turned into one clear, ephemeral line by
:func:`answered`; nothing changes when a request is refused. A refusal's text is mrkdwn (any
outside text in it escaped where it was put in); the people it names by id are shown as
mentions in a reply (:func:`mentions`) and by name in a form's plain text (:func:`in_form`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from integrations.mrkdwn import escape, mention, plain
from state.commands import Actor
from state.errors import RunError
from state.names import Site
from state.run import Run

GONE = "That button is not one of ours any more."

ASKED = "(asked in the form)"
"""The reason a command is checked with before its form asks for the real one."""
ASKED_TARGETS = ("Name:0",)
"""The list an edit is checked with before its form asks for the real one."""


def _people(text: str, people: Mapping[str, str], show: Mapping[str, str]) -> str:
    """Each id of ``people`` that stands as a word in ``text`` replaced by ``show[id]``."""
    if not people:
        return text
    ids = "|".join(re.escape(user) for user in sorted(people, key=len, reverse=True))
    return re.sub(rf"(?<![\w<@])({ids})(?![\w>])", lambda m: show[m.group(1)], text)


def mentions(text: str, people: Mapping[str, str]) -> str:
    """The user ids of ``people`` named in ``text`` as mentions; no other word becomes one."""
    return _people(text, people, {user: mention(user) for user in people})


def in_form(error: RunError) -> str:
    """A refusal as a form's error line: plain text, people by name."""
    return _people(plain(str(error)), error.people, error.people)


def usage(problem: str, how: str) -> Reply:
    """Text that is not a command: what is wrong (it quotes what was typed: escaped), and how."""
    return Reply(f"{escape(problem)}\n\n{how}")


def not_the_lead(run: Run, actor: Actor, what: str) -> Reply | None:
    """Anyone but the lead is refused at once, saying who can; an admin, how to take over."""
    if actor.user == run.lead:
        return None
    refused = f"Only the lead, {mention(run.lead)}, can {what}."
    if actor.admin:
        return Reply(
            f"{refused} You are an admin: to act on this run, take it over first "
            f"with `/upgrade takeover {run.site} <reason>` (the reason is recorded)."
        )
    return Reply(f"{refused} Ask them, or ask them to hand over.")


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
    """The use case's answer, or its refusal as one line (the people it names as mentions)."""
    try:
        return await work
    except RunError as e:
        return Reply(mentions(str(e), e.people))


def hm(at: datetime) -> str:
    """``14:05 UTC``."""
    return at.strftime("%H:%M UTC")
