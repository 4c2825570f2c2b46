"""Where the sites stand: ``/upgrade status``, App Home, and ``/upgrade check`` (read-only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.engine.notices import named
from bot.slack.blocks import Block
from bot.slack.messages import home_view, site_status
from bot.usecases.answers import Reply, hm
from integrations.mrkdwn import escape
from state.events import BOT, Event, StepStarted
from state.names import Site
from state.run import Run

Check = Callable[[Site], Awaitable[Mapping[str, str | None]]]
"""Ping a site's systems: by name, ``None`` if it answered, else why not."""


class Status:
    """Read-only answers about every site."""

    def __init__(
        self, *, engine: Engine, sites: Mapping[Site, SiteConfig], check: Check | None = None
    ) -> None:
        """``check`` pings a site's systems (none: nothing to check on this bot)."""
        self._engine = engine
        self._sites = sites
        self._check = check

    async def status(self, site: Site | None, *, share: bool = False) -> Reply:
        """Where one site, or every site, stands, with the last things people did."""
        now = self._engine.now()
        lines = []
        for config, run, last in await self._sites_now():
            if site is not None and config.name != site:
                continue
            lines.append(site_status(config, run, last, now))
            if run is not None:
                lines += [f"   · {line}" for line in await self.last_actions(run)]
        return Reply("\n".join(lines), public=share)

    async def home(self) -> Block:
        """The App Home view."""
        return home_view(await self._sites_now(), self._engine.now())

    async def check(self, site: Site) -> Reply:
        """One line per system of the site: reached, or the real error (read-only)."""
        if self._check is None:
            return Reply("No systems are configured for checking here.")
        found = await self._check(site)
        lines = [f":white_check_mark: {name}" if problem is None else f":x: {escape(problem)}"
                 for name, problem in found.items()]  # fmt: skip
        bad = sum(problem is not None for problem in found.values())
        verdict = "all reachable" if not bad else f"{bad} of {len(found)} unreachable"
        return Reply(f"*{self._sites[site].title}*: {verdict}\n" + "\n".join(lines))

    async def last_actions(self, run: Run, count: int = 3) -> list[str]:
        """The last things people did in the run, newest last, people by name."""
        events = [e for e in await self._engine.store.events(run.run_id) if e.actor != BOT]
        return [f"{hm(e.at)} {named(run, e.actor)} {_did(e)}"
                + (f" {step}" if (step := getattr(e, "step_id", None)) else "")
                for e in events[-count:]]  # fmt: skip

    async def _sites_now(self) -> list[tuple[SiteConfig, Run | None, Run | None]]:
        """Per site: its configuration, its open run, and (when idle) its last run."""
        rows = []
        for name, config in self._sites.items():
            run = await self._engine.store.open_run(name)
            last = None if run else next(iter(await self._engine.store.recent(name, 1)), None)
            rows.append((config, run, last))
        return rows


def _did(event: Event) -> str:
    """What a person did, in a word or two: a step's start says how (``approved``)."""
    if isinstance(event, StepStarted) and event.verb != "activate":
        return "approved" if event.verb == "approve" else "retried"
    return event.type.split(".")[-1].replace("_", " ")
