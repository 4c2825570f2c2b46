"""What a runner gets to do one step: the run, the site, its systems, the clock, a progress line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime

from bot.config.sites import SiteConfig
from integrations.announce import Announcer
from integrations.argocd import ArgoCD
from integrations.base import Integration, Report
from integrations.clock import Clock
from integrations.efd import Efd
from integrations.github import GitHub
from integrations.kube import Cluster
from integrations.love import Love
from integrations.ssh import Hosts
from state.run import Run, StepState


@dataclass(frozen=True, slots=True)
class SiteSystems:
    """One site's outside systems (the real clients, or the simulated observatory)."""

    love: Love
    efd: Efd
    hosts: Hosts
    cluster: Cluster
    github: GitHub
    argocd: ArgoCD
    announcer: Announcer

    def named(self) -> dict[str, Integration]:
        """The systems a pre-flight check pings, by the name shown to the lead."""
        return {
            "LOVE": self.love,
            "EFD": self.efd,
            "SSH hosts": self.hosts,
            "Kubernetes": self.cluster,
            "GitHub": self.github,
            "ArgoCD": self.argocd,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a step's action ended: a one-line summary, the baseline if it read one, the trouble.

    With ``issues`` the step ends "done with issues", naming them, and the run goes on. A watch
    also names the CSCs it found beating in OFFLINE (fine, as the page allows) and the camera
    team's CSCs not up yet (theirs, not trouble).
    """

    summary: str
    baseline: tuple[str, ...] | None = None
    issues: tuple[str, ...] = ()
    offline_up: tuple[str, ...] = ()
    camera_team: tuple[str, ...] = ()


def _refuse(work: Coroutine[object, object, None]) -> None:
    """A context without an engine behind it runs nothing in the background."""
    work.close()
    raise RuntimeError("this step context cannot run work in the background")


@dataclass(frozen=True, slots=True)
class StepContext:
    """Everything a runner needs for one attempt of one step."""

    run: Run
    state: StepState
    site: SiteConfig
    systems: SiteSystems
    clock: Clock
    report: Report
    once: Callable[[str, Callable[[], Awaitable[None]]], Awaitable[datetime | None]] = field(
        repr=False
    )
    """``once(key, post)``: post and record, unless the run made ``key`` already (then: when)."""
    background: Callable[[Coroutine[object, object, None]], None] = field(
        default=_refuse, repr=False
    )
    """Leave ``work`` running after the step ended (the pre-pull's follower): the engine owns it,
    cancels it when the run ends or the bot stops, and never waits on it."""
