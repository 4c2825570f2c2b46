"""What each button does: a step's, the run's, and those under the bot's posts.

A step's: approve, retry, mark done, cancel, skip, hold, and for a step taking longer than
expected keep waiting or mark done with a note; the run's: abort; under the bot's posts:
acknowledge, announce it now, DM the principals.

A button's value names the run, and the step and revision it was pressed for, so the state
machine refuses a stale one and treats a double click as one click.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.usecases.answers import (
    GONE,
    Answer,
    AskReason,
    AskTargets,
    AskWindow,
    Reply,
    answered,
    hm,
)
from state import commands
from state.actions import Announce
from state.names import Site
from state.run import Run

STEP_BUTTONS: dict[
    str,
    type[
        commands.Approve
        | commands.Retry
        | commands.MarkDone
        | commands.Cancel
        | commands.KeepWaiting
        | commands.LeaveUp
    ],
] = {
    "step.approve": commands.Approve,
    "step.retry": commands.Retry,
    "step.mark_done": commands.MarkDone,
    "step.cancel": commands.Cancel,
    "step.keep_waiting": commands.KeepWaiting,
    "step.leave_up": commands.LeaveUp,
}
"""Buttons that are one command with no more input (Skip and Abort ask a reason first)."""

ASKING = {"step.skip": "skip", "step.done_with_note": "done"}
"""Step buttons that open a form first: why skip it; the note of one marked done while its
operation goes on (a step taking longer than expected)."""
_FORMS = {*ASKING, "step.hold", "step.edit_targets"}
"""A step's buttons that open a form first."""


class Buttons:
    """What each button does."""

    def __init__(self, *, engine: Engine, sites: Mapping[Site, SiteConfig]) -> None:
        """Act through ``engine``; ``sites`` names the site an acknowledgement is for."""
        self._engine = engine
        self._sites = sites

    async def press(self, user: str, action_id: str, raw: str) -> Answer | None:
        """A step's or the run's button: done (``None``), a form to ask why, or why not."""
        try:
            data: dict[str, Any] = json.loads(raw)
            run_id = str(data["run"])
            step = (str(data["step"]), int(data["rev"])) if "step" in data else None
        except (ValueError, KeyError, TypeError):
            return Reply(GONE)
        return await answered(self._press(user, action_id, run_id, step))

    async def _press(
        self, user: str, action_id: str, run_id: str, step: tuple[str, int] | None
    ) -> Answer | None:
        run = await self._engine.store.get(run_id)
        command = STEP_BUTTONS.get(action_id)
        answer: Answer | None = None
        if user != run.lead and not self._engine.actor(user).admin:
            what = "abort this run" if action_id == "run.abort" else "press its buttons"
            answer = Reply(f"Only the lead, <@{run.lead}>, can {what}.")
        elif action_id == "run.abort":
            answer = AskReason("abort", run_id)
        elif step is None or (command is None and action_id not in _FORMS):
            answer = Reply(GONE)
        elif action_id == "step.hold":
            answer = _ask_window(run, *step)
        elif action_id == "step.edit_targets":
            answer = _ask_targets(run, *step)
        elif command is None:
            answer = AskReason(ASKING[action_id], run_id, *step)
        else:
            await self._engine.execute(run_id, command(self._engine.actor(user), *step))
        return answer

    async def release(self, user: str, raw: str) -> Reply:
        """The lead pressed "Announce it now" after holding an announcement back."""

        async def act(run_id: str, key: str) -> Reply:
            made = await self._engine.speaker.release(run_id, key)
            if made is not None:
                return Reply(f"{key} was announced already, at {hm(made)}.")
            return Reply(f"<@{user}> announced {key} at {hm(self._engine.now())}", public=True)

        return await self._lead_button(user, raw, "key", "make this announcement", act)

    async def acknowledge(self, user: str, raw: str) -> Reply:
        """The camera team acknowledged an announcement: recorded (who, when); nothing moves."""
        try:
            data: dict[str, Any] = json.loads(raw)
            site = self._sites[data["site"]].name
            key = str(data["key"])
        except (ValueError, KeyError, TypeError):
            return Reply(GONE)
        run = await self._engine.store.open_run(site)
        if run is None:
            run = next(iter(await self._engine.store.recent(site, 1)), None)
        if run is None:
            return Reply(GONE)

        async def act(run: Run) -> Reply:
            await self._engine.execute(
                run.run_id, commands.Acknowledge(self._engine.actor(user), key)
            )
            return Reply(f"<@{user}> acknowledged {key} at {hm(self._engine.now())}", public=True)

        return await answered(act(run))

    async def message_principals(self, user: str, raw: str) -> Reply:
        """The lead pressed "DM the principals" under a deadline report."""

        async def act(run_id: str, step_id: str) -> Reply:
            said = await self._engine.speaker.message_principals(run_id, step_id)
            if not said:
                return Reply("No principal is configured for the CSCs in trouble.")
            return Reply(f"Direct messages by <@{user}>: " + "; ".join(said), public=True)

        return await self._lead_button(user, raw, "step", "message the principals", act)

    async def _lead_button(
        self,
        user: str,
        raw: str,
        field: str,
        what: str,
        act: Callable[[str, str], Awaitable[Reply]],
    ) -> Reply:
        """A button under a notice: its run and ``field`` read, the lead (or an admin) only."""
        try:
            data: dict[str, Any] = json.loads(raw)
            run_id, value = str(data["run"]), str(data[field])
        except (ValueError, KeyError, TypeError):
            return Reply(GONE)

        async def work() -> Reply:
            run = await self._engine.store.get(run_id)
            if user != run.lead and not self._engine.actor(user).admin:
                return Reply(f"Only the lead, <@{run.lead}>, can {what}.")
            return await act(run_id, value)

        return await answered(work())


def _ask_targets(run: Run, step_id: str, revision: int) -> Answer:
    """The form that edits a stragglers step's list, filled with what is proposed."""
    state = run.step(step_id)
    if state is None or not state.step.action.proposes_targets():
        return Reply(GONE)
    return AskTargets(run.run_id, step_id, revision, state.proposed or ())


def _ask_window(run: Run, step_id: str, revision: int) -> Answer:
    """The hold form for a step that offers it, else why not."""
    state = run.step(step_id)
    action = state.step.action if state else None
    if not isinstance(action, Announce) or action.hold is None:
        return Reply(GONE)
    return AskWindow(action.hold.label, action.hold.window, run.run_id, step_id, revision)
