"""Opening a run, and what people do to a site's run: its commands and its forms.

From the site's channel: start, hand over, pause, resume, note, abort; from anywhere, an
admin's take over; and the forms' submissions (start, skip, abort, hold).

Which channel drives which site (by the channel's id: a renamed channel keeps working, and a
private one is known by its id), and who may start runs, are decided here; the listeners
only parse and show. What someone typed is escaped wherever it is said back in mrkdwn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.usecases.answers import (
    ASKED,
    Answer,
    AskReason,
    AskStart,
    Reply,
    answered,
    not_the_lead,
)
from bot.usecases.origin import Channel, Person
from integrations.mrkdwn import channel_link, escape, is_channel_id, mention
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

    def site_of(self, channel: Channel) -> Site | None:
        """The site driven from this channel: by its id, or by its name if so configured."""
        for site, config in self._sites.items():
            bound = config.channel
            if bound == channel.id or (
                not is_channel_id(bound) and bound.lstrip("#") == channel.name.lstrip("#")
            ):
                return site
        return None

    # ------------------------------------------------------------------ /upgrade commands

    async def open(
        self,
        who: Person,
        channel: Channel,
        site: Site,
        kind: RunKind | None,
        cycle: str | None,
        branch: str | None,
    ) -> Answer:
        """``/upgrade start``: open the run, or ask for what is missing in the start form."""

        async def work() -> Answer:
            here = channel_link(self._sites[site].channel)
            if self.site_of(channel) != site:
                raise RunError(f"A {site} run is driven from {here}: start it there.")
            allowed = self._starters.get(site)
            if allowed is not None and who.id not in allowed:
                raise RunError(f"You are not on the list of people who may start {site} runs.")
            if kind is None:
                return AskStart(site, cycle, branch)
            await self.start(who, site, kind, cycle, branch)
            return Reply(f"Opened the {kind} of {site}: steps follow in the thread.")

        return await answered(work())

    async def take_over(self, who: Person, site: Site, reason: str) -> Answer:
        """``/upgrade takeover``: an admin becomes the lead of a site's run."""

        async def work() -> Answer:
            run = await self._open_run(site)
            actor = self._engine.actor(who.id, who.name)
            await self._engine.execute(run.run_id, commands.TakeOver(actor, reason))
            said = f"{mention(who.id)} took over the {site} run: {escape(reason)}"
            return Reply(said, public=True)

        return await answered(work())

    async def hand_over(self, who: Person, channel: Channel, to: Person) -> Answer:
        """``/upgrade handover @user``: the new lead is mentioned (they need to know)."""
        command = commands.HandOver(self._engine.actor(who.id, who.name), to.id, to.name)
        return await self._lead_command(
            who, channel, command, lambda site: f"handed the {site} run over to {mention(to.id)}"
        )

    async def pause(self, who: Person, channel: Channel) -> Answer:
        """``/upgrade pause``: hold the run before its next step."""
        command = commands.Pause(self._engine.actor(who.id, who.name))
        return await self._lead_command(
            who, channel, command, lambda site: f"paused the {site} run"
        )

    async def resume(self, who: Person, channel: Channel) -> Answer:
        """``/upgrade resume``."""
        command = commands.Resume(self._engine.actor(who.id, who.name))
        return await self._lead_command(
            who, channel, command, lambda site: f"resumed the {site} run"
        )

    async def note(self, who: Person, channel: Channel, text: str) -> Answer:
        """``/upgrade note <text>``: a note in the run's record (said back escaped)."""
        command = commands.AddNote(self._engine.actor(who.id, who.name), text)
        return await self._lead_command(
            who, channel, command, lambda _site: f"added a note: {escape(text)}"
        )

    async def abort(self, who: Person, channel: Channel, reason: str | None) -> Answer:
        """``/upgrade abort [reason]``: without a reason, the form asks (if it would be taken)."""
        if reason is None:

            async def ask() -> Answer:
                run = await self._open_run(self._here(channel))
                await self.check_abort(who, run.run_id, ASKED)
                return AskReason("abort", run.run_id)

            return await answered(ask())
        command = commands.Abort(self._engine.actor(who.id, who.name), reason)
        return await self._lead_command(
            who, channel, command, lambda site: f"aborted the {site} run: {escape(reason)}"
        )

    async def stop_prepull(self, who: Person, channel: Channel) -> Answer:
        """``/upgrade prepull stop``: the pre-pull ends now; its DaemonSet is removed.

        What the nodes pulled stays in their caches. A note records it in the run.
        """

        async def work() -> Answer:
            site = self._here(channel)
            run = await self._open_run(site)
            actor = self._engine.actor(who.id, who.name)
            refused = not_the_lead(run, actor, "stop its pre-pull")
            if refused is not None:
                return refused
            if not await self._engine.end_background(run.run_id):
                return Reply(f"No pre-pull is running in the {site} run.")
            said = "stopped the pre-pull: its DaemonSet is removed (what was pulled stays)"
            await self._engine.execute(run.run_id, commands.AddNote(actor, said))
            return Reply(f"{mention(who.id)} {said}", public=True)

        return await answered(work())

    async def _lead_command(
        self,
        who: Person,
        channel: Channel,
        command: commands.Command,
        said: Callable[[Site], str],
    ) -> Answer:
        """A command on the run of the channel's site; what was done is said publicly."""

        async def work() -> Answer:
            site = self._here(channel)
            run = await self._open_run(site)
            refused = not_the_lead(run, self._engine.actor(who.id), "change this run")
            if refused is not None:
                return refused
            await self._engine.execute(run.run_id, command)
            return Reply(f"{mention(who.id)} {said(site)}", public=True)

        return await answered(work())

    # ------------------------------------------------------------------ forms

    async def start(
        self, who: Person, site: Site, kind: RunKind, cycle: str | None, branch: str | None
    ) -> Run:
        """Open a run (from the command, or from the start form)."""
        return await self._engine.open_run(
            who.id, site, kind, cycle=cycle, phalanx_branch=branch, name=who.name
        )

    async def check_abort(self, who: Person, run_id: str, reason: str) -> None:
        """Raise the refusal an abort would get now (someone not the lead, a run ended)."""
        await self._engine.check(
            run_id, commands.Abort(self._engine.actor(who.id, who.name), reason)
        )

    async def abort_run(self, who: Person, run_id: str, reason: str) -> None:
        """End the run (the reason is required); the running step is stopped meanwhile."""
        actor = self._engine.actor(who.id, who.name)
        await self._engine.execute(run_id, commands.Abort(actor, reason))

    async def mark_done(
        self, who: Person, run_id: str, step_id: str, revision: int, note: str
    ) -> None:
        """Mark a step done, with a note (one taking longer than expected needs it)."""
        actor = self._engine.actor(who.id, who.name)
        await self._engine.execute(run_id, commands.MarkDone(actor, step_id, revision, note=note))

    async def skip(
        self, who: Person, run_id: str, step_id: str, revision: int, reason: str
    ) -> None:
        """Skip a step, with the reason."""
        actor = self._engine.actor(who.id, who.name)
        command = commands.Skip(actor, step_id, revision, reason=reason)
        await self._engine.execute(run_id, command)

    async def edit_targets(
        self, who: Person, run_id: str, step_id: str, revision: int, text: str
    ) -> None:
        """The CSCs a stragglers step sends, as the lead typed them (``Name:index``, by lines)."""
        targets = tuple(t for t in re.split(r"[\s,]+", text) if t)
        actor = self._engine.actor(who.id, who.name)
        await self._engine.execute(run_id, commands.EditTargets(actor, step_id, revision, targets))

    async def hold(
        self, who: Person, run_id: str, step_id: str, revision: int, window: str
    ) -> None:
        """Hold the announcement back for ``window`` (``2h``): the lead is reminded then."""
        try:
            length = parse_duration(window)
        except ValueError as e:
            raise BadInput(escape(str(e))) from e
        if not isinstance(length, timedelta):
            raise BadInput(f"not a duration: {escape(repr(window))} (write e.g. 30m, 2h, 1h30m)")
        until = self._engine.now() + length
        actor = self._engine.actor(who.id, who.name)
        command = commands.Hold(actor, step_id, revision, until=until)
        await self._engine.execute(run_id, command)

    # ------------------------------------------------------------------ helpers

    def _here(self, channel: Channel) -> Site:
        site = self.site_of(channel)
        if site is None:
            channels = ", ".join(f"{channel_link(c.channel)} ({s})" for s, c in self._sites.items())
            raise RunError(f"A run is driven from its site's channel: {channels}.")
        return site

    async def _open_run(self, site: Site) -> Run:
        run = await self._engine.store.open_run(site)
        if run is None:
            raise RunError(f"{site} has no run open. `/upgrade start {site}` opens one.")
        return run
