"""The bot speaking up by itself, between the steps: each notice posted once, across restarts.

The engine's ``tick`` asks the speaker what is due for each open run (a reminder, a held
announcement whose window has ended, a CSC beating again while the site should be down) and
for the latest run of each site once it is over (its summary, a held announcement). The texts
and the rules are in :mod:`bot.notices`; here is what reads the EFD, posts, and records: every
post goes through the engine's ``once`` (the key recorded in the run with the post).

What it keeps in memory is only a read's timing and which CSCs were silent at the last read;
after a restart the first read looks again, so nothing is said twice and nothing is invented.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from bot.engine import notices
from bot.engine.runners import SiteSystems, announce, efd
from bot.engine.runners.keys import dm_key
from integrations.errors import IntegrationError
from integrations.mrkdwn import escape, mention
from state.actions import Announce
from state.errors import RunError

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from integrations.announce import Notice
    from state.names import Site
    from state.run import Run
    from state.store import Store

Post = Callable[[], Awaitable[None]]
Once = Callable[[str, str, str | None, Post], Awaitable[datetime | None]]
"""``once(run_id, key, step_id, post)``: post unless the run recorded ``key``; when, if it had."""


class Speaker:
    """Posts the notices that are due, and acts on the buttons under them."""

    def __init__(
        self,
        *,
        store: Store,
        sites: Mapping[Site, SiteConfig],
        systems: Mapping[Site, SiteSystems],
        once: Once,
    ) -> None:
        """Read runs from ``store``; post through each site's announcer, once."""
        self._store = store
        self._sites = sites
        self._systems = systems
        self._once = once
        self._downtime_read: dict[str, datetime] = {}
        self._silent: dict[str, set[str]] = {}
        self._log = structlog.get_logger("upgrade_bot.speaker")

    async def speak(self, run: Run, now: datetime) -> None:
        """What is due about an open run at ``now``."""
        site = self._sites[run.site]
        remind = notices.reminder(run, site, now)
        for notice in (*([remind] if remind else []), *notices.window_ended(run, now)):
            await self.tell(run, notice)
        if notices.down(run):
            await self._downtime(run, site, now)

    def next_due(self, run: Run, now: datetime) -> list[datetime]:
        """When something the speaker says or reads about ``run`` becomes due."""
        site = self._sites[run.site]
        due = notices.due_times(run, site)
        if run.status.open and notices.down(run):
            last = self._downtime_read.get(run.run_id)
            due.append(now if last is None else last + site.downtime_poll)
        if not run.status.open and "summary" not in run.announced:
            due.append(now)
        return due

    async def after_the_end(self, now: datetime) -> None:
        """The latest run of each site, once it is over: its summary, a held announcement."""
        for site in self._systems:
            for run in await self._store.recent(site, 1):
                if run.status.open:
                    continue
                if "summary" not in run.announced:
                    events = await self._store.events(run.run_id)
                    await self.tell(run, notices.run_summary(run, events, self._sites[site]))
                for notice in notices.window_ended(run, now):
                    await self.tell(run, notice)

    async def tell(self, run: Run, notice: Notice) -> None:
        """Post a notice once; a front end that cannot post is logged, the run goes on."""
        announcer = self._systems[run.site].announcer

        async def post() -> None:
            await announcer.tell(site=run.site, notice=notice)

        try:
            await self._once(run.run_id, notice.key, None, post)
        except Exception:  # noqa: BLE001  # Slack down or a front end's bug: the run goes on
            self._log.exception("Notice not posted", run=run.run_id, key=notice.key)

    async def release(self, run_id: str, key: str) -> datetime | None:
        """Make an announcement the lead held back (once): when it was made before, if so."""
        run = await self._store.get(run_id)
        if key not in run.held:
            raise RunError(f"No announcement {key!r} was held back in run {run_id}.")
        state, action = next(
            (s, a) for s in run.steps if isinstance(a := s.step.action, Announce) and a.key == key
        )
        site = self._sites[run.site]
        post = announce.poster(self._systems[run.site].announcer, run, site, action)
        return await self._once(run_id, key, state.id, post)

    async def message_principals(self, run_id: str, step_id: str) -> list[str]:
        """DM each principal of the CSCs the step left in trouble, once each; a line per one."""
        run = await self._store.get(run_id)
        state = run.step(step_id)
        if state is None:
            raise RunError(f"The run has no step {step_id!r}.")
        announcer = self._systems[run.site].announcer
        said = []
        for user, text in notices.principal_messages(run, state, self._sites[run.site]).items():

            async def post(user: str = user, text: str = text) -> None:
                await announcer.direct(user=user, text=text)

            try:
                made = await self._once(run_id, dm_key(step_id, state.attempt, user), None, post)
            except IntegrationError as e:
                said.append(f"{mention(user)}: not sent ({escape(str(e))})")
            else:
                when = f"already sent at {made:%H:%M} UTC" if made else "sent"
                said.append(f"{mention(user)}: {when}")
        return said

    async def _downtime(self, run: Run, site: SiteConfig, now: datetime) -> None:
        """Read the EFD (every ``downtime_poll``) for CSCs beating again while the site is down."""
        last = self._downtime_read.get(run.run_id)
        if last is not None and now - last < site.downtime_poll:
            return
        self._downtime_read[run.run_id] = now
        try:
            states = await self._systems[run.site].efd.states()
        except IntegrationError as e:
            self._log.warning("Downtime watch: EFD not read", run=run.run_id, error=str(e))
            return
        baseline = efd.watched(run.baseline or (), ())  # its CSCs (an old one may name Scripts)
        watched = efd.watched(baseline, site.ignore)
        if not states.fresh:
            # With nothing kept up (no ignore list), a whole site down is silent by design:
            # stale and all-silent look alike, and a CSC beating again would make it fresh.
            if len(watched) == len(baseline):
                self._silent[run.run_id] = set(watched)
            else:
                await self.tell(run, notices.downtime_blind(run, site))
            return
        beating = {ref for ref in watched if (c := states.cscs.get(ref)) is not None and c.alive}
        # *Again*: silent at the previous read. A CSC that never went down (a straggler) was
        # named at the shutdown's deadline; the first read of the downtime only looks.
        silent_before = self._silent.get(run.run_id)
        self._silent[run.run_id] = set(watched) - beating
        for ref in sorted(beating & (silent_before or set())):
            await self.tell(run, notices.beating_again(run, site, states.cscs[ref]))
