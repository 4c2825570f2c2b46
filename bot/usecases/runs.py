"""Opening a run, and what people do to a site's run: its commands and its forms.

From the site's channel: start, hand over, pause, resume, note, abort; from anywhere, an
admin's take over; and the forms' submissions (start, skip, abort, hold).

Which channel drives which site, and who may start runs, are decided here; the listeners only
parse and show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.usecases.answers import Answer, AskReason, AskStart, Reply, answered
from state import commands
from state.duration import parse_duration
from state.errors import BadInput, RunError
from state.names import RunKind, Site
from state.run import Run


class Runs:
    """The run of each site: opened, commanded, ended."""

    def __init__(
        self,
        *,
        engine: Engine,
        sites: Mapping[Site, SiteConfig],
        starters: Mapping[Site, frozenset[str]] | None = None,
    ) -> None:
        """``starters``: per site, who may start runs (none given: anyone in its channel)."""
        self._engine = engine
        self._sites = sites
        self._starters = starters or {}

    def site_of(self, channel_name: str) -> Site | None:
        """The site driven from this channel."""
        name = channel_name.lstrip("#")
        return next((s for s, c in self._sites.items() if c.channel.lstrip("#") == name), None)

    # ------------------------------------------------------------------ /upgrade commands

    async def open(
        self,
        user: str,
        channel_name: str,
        site: Site,
        kind: RunKind | None,
        cycle: str | None,
        branch: str | None,
    ) -> Answer:
        """``/upgrade start``: open the run, or ask for what is missing in the start form."""

        async def work() -> Answer:
            channel = self._sites[site].channel
            if self.site_of(channel_name) != site:
                raise RunError(f"A {site} run is driven from {channel}: start it there.")
            allowed = self._starters.get(site)
            if allowed is not None and user not in allowed:
                raise RunError(f"You are not on the list of people who may start {site} runs.")
            if kind is None:
                return AskStart(site, cycle, branch)
            await self.start(user, site, kind, cycle, branch)
            return Reply(f"Opened the {kind} of {site}: steps follow in the thread.")

        return await answered(work())

    async def take_over(self, user: str, site: Site, reason: str) -> Answer:
        """``/upgrade takeover``: an admin becomes the lead of a site's run."""

        async def work() -> Answer:
            run = await self._open_run(site)
            await self._engine.execute(
                run.run_id, commands.TakeOver(self._engine.actor(user), reason)
            )
            return Reply(f"<@{user}> took over the {site} run: {reason}", public=True)

        return await answered(work())

    async def hand_over(self, user: str, channel_name: str, to: str) -> Answer:
        """``/upgrade handover @user``."""
        command = commands.HandOver(self._engine.actor(user), to)
        return await self._lead_command(
            user, channel_name, command, lambda site: f"handed the {site} run over to <@{to}>"
        )

    async def pause(self, user: str, channel_name: str) -> Answer:
        """``/upgrade pause``: hold the run before its next step."""
        command = commands.Pause(self._engine.actor(user))
        return await self._lead_command(
            user, channel_name, command, lambda site: f"paused the {site} run"
        )

    async def resume(self, user: str, channel_name: str) -> Answer:
        """``/upgrade resume``."""
        command = commands.Resume(self._engine.actor(user))
        return await self._lead_command(
            user, channel_name, command, lambda site: f"resumed the {site} run"
        )

    async def note(self, user: str, channel_name: str, text: str) -> Answer:
        """``/upgrade note <text>``: a note in the run's record."""
        command = commands.AddNote(self._engine.actor(user), text)
        return await self._lead_command(
            user, channel_name, command, lambda _site: f"added a note: {text}"
        )

    async def abort(self, user: str, channel_name: str, reason: str | None) -> Answer:
        """``/upgrade abort [reason]``: without a reason, the form asks for one."""
        if reason is None:

            async def ask() -> Answer:
                run = await self._open_run(self._here(channel_name))
                return AskReason("abort", run.run_id)

            return await answered(ask())
        command = commands.Abort(self._engine.actor(user), reason)
        return await self._lead_command(
            user, channel_name, command, lambda site: f"aborted the {site} run: {reason}"
        )

    async def _lead_command(
        self,
        user: str,
        channel_name: str,
        command: commands.Command,
        said: Callable[[Site], str],
    ) -> Answer:
        """A command on the run of the channel's site; what was done is said publicly."""

        async def work() -> Answer:
            site = self._here(channel_name)
            run = await self._open_run(site)
            await self._engine.execute(run.run_id, command)
            return Reply(f"<@{user}> {said(site)}", public=True)

        return await answered(work())

    # ------------------------------------------------------------------ forms

    async def start(
        self, user: str, site: Site, kind: RunKind, cycle: str | None, branch: str | None
    ) -> Run:
        """Open a run (from the command, or from the start form)."""
        return await self._engine.open_run(user, site, kind, cycle=cycle, phalanx_branch=branch)

    async def abort_run(self, user: str, run_id: str, reason: str) -> None:
        """End the run (the reason is required)."""
        await self._engine.execute(run_id, commands.Abort(self._engine.actor(user), reason))

    async def mark_done(
        self, user: str, run_id: str, step_id: str, revision: int, note: str
    ) -> None:
        """Mark a step done, with a note (one taking longer than expected needs it)."""
        command = commands.MarkDone(self._engine.actor(user), step_id, revision, note=note)
        await self._engine.execute(run_id, command)

    async def skip(self, user: str, run_id: str, step_id: str, revision: int, reason: str) -> None:
        """Skip a step, with the reason."""
        command = commands.Skip(self._engine.actor(user), step_id, revision, reason=reason)
        await self._engine.execute(run_id, command)

    async def edit_targets(
        self, user: str, run_id: str, step_id: str, revision: int, text: str
    ) -> None:
        """The CSCs a stragglers step sends, as the lead typed them (``Name:index``, by lines)."""
        targets = tuple(t for t in re.split(r"[\s,]+", text) if t)
        command = commands.EditTargets(self._engine.actor(user), step_id, revision, targets)
        await self._engine.execute(run_id, command)

    async def hold(self, user: str, run_id: str, step_id: str, revision: int, window: str) -> None:
        """Hold the announcement back for ``window`` (``2h``): the lead is reminded then."""
        try:
            length = parse_duration(window)
        except ValueError as e:
            raise BadInput(str(e)) from e
        if not isinstance(length, timedelta):
            raise BadInput(f"not a duration: {window!r} (write e.g. 30m, 2h, 1h30m)")
        until = self._engine.now() + length
        command = commands.Hold(self._engine.actor(user), step_id, revision, until=until)
        await self._engine.execute(run_id, command)

    # ------------------------------------------------------------------ helpers

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
