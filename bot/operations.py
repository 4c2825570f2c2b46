"""What people ask of the bot in Slack, turned into engine commands and short answers.

The handlers stay thin (ack, parse, call here, answer); this module knows which channel drives
which site, who may start runs, and how a button's value names the step and revision it was
pressed for. Every refusal is a :class:`state.errors.RunError` or a check here, answered with
one clear line, and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.engine import Engine
from bot.render import Block, home_view, site_status
from bot.sites import SiteConfig
from handlers import parse
from state import commands
from state.actions import Announce
from state.duration import parse_duration
from state.errors import BadInput, RunError
from state.procedure import Site
from state.run import Run

_USER = re.compile(r"\b([UW][A-Z0-9]{6,})\b")

STEP_BUTTONS: dict[
    str, type[commands.Approve | commands.Retry | commands.MarkDone | commands.Cancel]
] = {
    "step.approve": commands.Approve,
    "step.retry": commands.Retry,
    "step.mark_done": commands.MarkDone,
    "step.cancel": commands.Cancel,
}
"""Buttons that are one command with no more input (Skip and Abort ask a reason first)."""

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
    """Open a form asking why (skip a step, abort the run)."""

    what: str
    """``skip`` or ``abort``."""
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


Answer = Reply | AskStart | AskReason | AskWindow


class Operations:
    """The bot's answers to slash commands, buttons and forms."""

    def __init__(
        self,
        *,
        engine: Engine,
        sites: Mapping[Site, SiteConfig],
        starters: Mapping[Site, frozenset[str]] | None = None,
        check: Callable[[Site], Awaitable[Mapping[str, str | None]]] | None = None,
    ) -> None:
        """``starters``: per site, who may start runs (none given: anyone in its channel)."""
        self._engine = engine
        self._sites = sites
        self._starters = starters or {}
        self._check = check

    def site_of(self, channel_name: str) -> Site | None:
        """The site driven from this channel."""
        name = channel_name.lstrip("#")
        return next((s for s, c in self._sites.items() if c.channel.lstrip("#") == name), None)

    async def slash(self, user: str, channel_name: str, text: str) -> Answer:
        """Answer ``/upgrade <text>`` typed by ``user`` in ``channel_name``."""
        try:
            request = parse.parse_command(text)
        except parse.UsageError as e:
            return Reply(f"{e}\n\n{parse.USAGE}")
        try:
            return await self._request(user, channel_name, request)
        except RunError as e:
            return Reply(mentions(str(e)))

    async def _request(self, user: str, channel_name: str, request: parse.Request) -> Answer:
        match request:
            case parse.Help():
                answer: Answer = Reply(parse.USAGE)
            case parse.Status(site=site, share=share):
                answer = Reply(await self.status(site), public=share)
            case parse.Start():
                answer = await self._start(user, channel_name, request)
            case parse.Check(site=site):
                answer = Reply(await self.check(site))
            case parse.Takeover(site=site, reason=reason):
                run = await self._open_run(site)
                await self._engine.execute(run.run_id, commands.TakeOver(self._actor(user), reason))
                answer = Reply(f"<@{user}> took over the {site} run: {reason}", public=True)
            case _:
                answer = await self._in_channel(user, channel_name, request)
        return answer

    async def _in_channel(self, user: str, channel_name: str, request: parse.Request) -> Answer:
        """Commands on the run of the channel's site."""
        site = self._here(channel_name)
        run = await self._open_run(site)
        if isinstance(request, parse.Abort) and request.reason is None:
            return AskReason("abort", run.run_id)
        actor = self._actor(user)
        command: commands.Command
        match request:
            case parse.Handover(user=to):
                command, said = (
                    commands.HandOver(actor, to),
                    f"handed the {site} run over to <@{to}>",
                )
            case parse.Pause():
                command, said = commands.Pause(actor), f"paused the {site} run"
            case parse.Resume():
                command, said = commands.Resume(actor), f"resumed the {site} run"
            case parse.Note(text=note):
                command, said = commands.AddNote(actor, note), f"added a note: {note}"
            case parse.Abort(reason=reason):
                command, said = (
                    commands.Abort(actor, reason or ""),
                    f"aborted the {site} run: {reason}",
                )
            case _:  # pragma: no cover  # the parser makes no other request
                raise AssertionError(request)
        await self._engine.execute(run.run_id, command)
        return Reply(f"<@{user}> {said}", public=True)

    def _actor(self, user: str) -> commands.Actor:
        return self._engine.actor(user)

    def _here(self, channel_name: str) -> Site:
        site = self.site_of(channel_name)
        if site is None:
            channels = ", ".join(f"{c.channel} ({s})" for s, c in self._sites.items())
            raise RunError(f"A run is driven from its site's channel: {channels}.")
        return site

    async def _open_run(self, site: Site) -> Run:
        run = await self._engine.store.open_run(site)
        if run is None:
            raise RunError(f"{site} has no run open. `/upgrade start {site}` opens one.")
        return run

    async def _start(self, user: str, channel_name: str, request: parse.Start) -> Answer:
        channel = self._sites[request.site].channel
        if self.site_of(channel_name) != request.site:
            raise RunError(f"A {request.site} run is driven from {channel}: start it there.")
        allowed = self._starters.get(request.site)
        if allowed is not None and user not in allowed:
            raise RunError(f"You are not on the list of people who may start {request.site} runs.")
        if request.kind is None:
            return AskStart(request.site, request.cycle, request.branch)
        await self.start(user, request.site, request.kind, request.cycle, request.branch)
        return Reply(f"Opened the {request.kind} of {request.site}: steps follow in the thread.")

    async def start(
        self, user: str, site: Site, kind: str, cycle: str | None, branch: str | None
    ) -> Run:
        """Open a run (from the command, or from the start form)."""
        return await self._engine.open_run(
            user,
            site,
            kind,  # type: ignore[arg-type]  # checked by the parser or the form's options
            cycle=cycle,
            phalanx_branch=branch,
        )

    async def abort(self, user: str, run_id: str, reason: str) -> None:
        """End the run (the reason is required)."""
        await self._engine.execute(run_id, commands.Abort(self._actor(user), reason))

    async def skip(self, user: str, run_id: str, step_id: str, revision: int, reason: str) -> None:
        """Skip a step, with the reason."""
        command = commands.Skip(self._actor(user), step_id, revision, reason=reason)
        await self._engine.execute(run_id, command)

    async def button(self, user: str, action_id: str, raw: str) -> Answer | None:
        """A button was pressed: do it (``None``), ask a reason, or say why not."""
        try:
            data: dict[str, Any] = json.loads(raw)
            run_id = str(data["run"])
            step = (str(data["step"]), int(data["rev"])) if "step" in data else None
        except (ValueError, KeyError, TypeError):
            return Reply(GONE)
        try:
            return await self._press(user, action_id, run_id, step)
        except RunError as e:
            return Reply(mentions(str(e)))

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
        elif step is None or (command is None and action_id not in {"step.skip", "step.hold"}):
            answer = Reply(GONE)
        elif action_id == "step.hold":
            answer = _ask_window(run, *step)
        elif command is None:
            answer = AskReason("skip", run_id, *step)
        else:
            await self._engine.execute(run_id, command(self._actor(user), *step))
        return answer

    async def hold(self, user: str, run_id: str, step_id: str, revision: int, window: str) -> None:
        """Hold the announcement back for ``window`` (``2h``): the lead is reminded then."""
        try:
            length = parse_duration(window)
        except ValueError as e:
            raise BadInput(str(e)) from e
        if not isinstance(length, timedelta):
            raise BadInput(f"not a duration: {window!r} (write e.g. 30m, 2h, 1h30m)")
        until = self._engine.now() + length
        command = commands.Hold(self._actor(user), step_id, revision, until=until)
        await self._engine.execute(run_id, command)

    async def release(self, user: str, raw: str) -> Reply:
        """The lead pressed "Announce it now" after holding an announcement back."""

        async def act(run_id: str, key: str) -> Reply:
            made = await self._engine.speaker.release(run_id, key)
            if made is not None:
                return Reply(f"{key} was announced already, at {_hm(made)}.")
            return Reply(f"<@{user}> announced {key} at {_hm(self._engine.now())}", public=True)

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
        try:
            await self._engine.execute(run.run_id, commands.Acknowledge(self._actor(user), key))
        except RunError as e:
            return Reply(mentions(str(e)))
        return Reply(f"<@{user}> acknowledged {key} at {_hm(self._engine.now())}", public=True)

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
        try:
            run = await self._engine.store.get(run_id)
            if user != run.lead and not self._engine.actor(user).admin:
                return Reply(f"Only the lead, <@{run.lead}>, can {what}.")
            return await act(run_id, value)
        except RunError as e:
            return Reply(mentions(str(e)))

    async def check(self, site: Site) -> str:
        """One line per system of the site: reached, or the real error (read-only)."""
        if self._check is None:
            return "No systems are configured for checking here."
        found = await self._check(site)
        lines = [f":white_check_mark: {name}" if problem is None else f":x: {problem}"
                 for name, problem in found.items()]  # fmt: skip
        bad = sum(problem is not None for problem in found.values())
        verdict = "all reachable" if not bad else f"{bad} of {len(found)} unreachable"
        return f"*{self._sites[site].title}*: {verdict}\n" + "\n".join(lines)

    async def _sites_now(self) -> list[tuple[SiteConfig, Run | None, Run | None]]:
        """Per site: its configuration, its open run, and (when idle) its last run."""
        rows = []
        for name, config in self._sites.items():
            run = await self._engine.store.open_run(name)
            last = None if run else next(iter(await self._engine.store.recent(name, 1)), None)
            rows.append((config, run, last))
        return rows

    async def status(self, site: Site | None) -> str:
        """Where one site, or every site, stands, with the last things people did."""
        now = self._engine.now()
        lines = []
        for config, run, last in await self._sites_now():
            if site is not None and config.name != site:
                continue
            lines.append(site_status(config, run, last, now))
            if run is not None:
                lines += [f"   · {line}" for line in await self.last_actions(run)]
        return "\n".join(lines)

    async def home(self) -> Block:
        """The App Home view."""
        return home_view(await self._sites_now(), self._engine.now())

    async def last_actions(self, run: Run, count: int = 3) -> list[str]:
        """The last things people did in the run, newest last."""
        events = [e for e in await self._engine.store.events(run.run_id) if e.actor != "bot"]
        return [f"{_hm(e.at)} <@{e.actor}> {e.type.split('.')[-1].replace('_', ' ')}"
                + (f" {step}" if (step := getattr(e, "step_id", None)) else "")
                for e in events[-count:]]  # fmt: skip


def _ask_window(run: Run, step_id: str, revision: int) -> Answer:
    """The hold form for a step that offers it, else why not."""
    state = run.step(step_id)
    action = state.step.action if state else None
    if not isinstance(action, Announce) or action.hold is None:
        return Reply(GONE)
    return AskWindow(action.hold.label, action.hold.window, run.run_id, step_id, revision)


def _hm(at: datetime) -> str:
    return at.strftime("%H:%M UTC")
