"""What the bot tells people: announcements of the procedure, and what it says by itself.

An *announcement* is a step of the procedure (the site channel, the camera team, Nublado
users). A *notice* is the bot speaking up between steps: the CSCs still in trouble at a
watch's deadline, a CSC beating again during the downtime, a reminder to the lead, the run's
summary. Both are made once per run and key: the engine records the key with the post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Choice:
    """A button under a notice: what it says, and what the front end is asked to do."""

    label: str
    action: str
    """The front end's action id (``principals.dm``)."""
    value: str
    """What the handler gets back (JSON)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the bot says by itself about a run."""

    run_id: str
    key: str
    """Once per run: ``deadline:verify-end-states``, ``beating:ATDome:0``..."""
    text: str
    in_thread: bool
    """In the run's thread (a reminder, a CSC back) or the site channel itself (a report)."""
    mention: tuple[str, ...] = ()
    """Users notified (the lead)."""
    choices: tuple[Choice, ...] = ()


class Announcer(Protocol):
    """Where announcements and notices go: Slack in production, the terminal in the demo."""

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Post ``text`` to the site's channel and to each audience."""
        ...

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Post a notice in the site's channel, or in the run's thread there."""
        ...

    async def direct(self, *, user: str, text: str) -> None:
        """A direct message to one person (a system principal)."""
        ...
