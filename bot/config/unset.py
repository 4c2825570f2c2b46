"""What a site leaves unset, and which steps of a run need it.

The reference pages name the systems but not every address, host or list: the configuration
repositories and their branch, the summit's kept-ENABLED CSCs, the bare-metal services, the ESS
controllers, the camera team's channels, the views' URLs. The bot never guesses one. Two kinds:

- *needed*: a step's automation would act on it (stop units, check branches, enable CSCs).
  While it is unset a real run does that step by hand (:func:`bot.config.runs.run_steps`).
- *shown*: only what a person is shown lacks it (a link, a host to log in to, a mention). The
  step runs; its message says what is not configured.

``upgrade-bot config validate`` lists both, per site, for the steps that site's runs have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.config.sites import DASHBOARDS, SiteConfig
from state.actions import (
    Action,
    Announce,
    EfdWaitForStates,
    GithubBranches,
    Manual,
    RunSetSummaryState,
    SshSystemctl,
)
from state.procedure import Procedure


@dataclass(frozen=True, slots=True)
class Unset:
    """One unset field and what it is for."""

    field: str
    what: str
    needed: bool
    """Whether a step's automation needs it (else only what a person is shown lacks it)."""

    def line(self) -> str:
        """How ``config validate`` and a by-hand step name it."""
        return f"{self.field}: {self.what}"


def unset_for(site: SiteConfig, action: Action) -> list[Unset]:
    """What ``action`` would use at ``site`` that is not configured."""
    found: list[Unset | None] = []
    if isinstance(action, SshSystemctl) and action.hosts == "bare-metal":
        found.append(_if_none(site.bare_metal, "bare_metal", "the bare-metal T&S services"))
    if isinstance(action, GithubBranches):
        found.append(_if_none(site.config_repos, "config_repos", "the configuration repositories"))
        found.append(_if_none(site.config_branch, "config_branch", "how their branch is named"))
    if isinstance(action, RunSetSummaryState) and action.config.targets == "keep-enabled":
        found.append(
            _if_none(site.keep_enabled, "keep_enabled", "the CSCs enabled at the end (ESS indices)")
        )
    if isinstance(action, Manual) and "bare-metal" in action.touching:
        found.append(_shown(site.bare_metal, "bare_metal", "the bare-metal hosts"))
    if isinstance(action, Manual) and "ess-controllers" in action.touching:
        found.append(
            _shown(site.ess_controllers, "ess_controllers", "the ESS controllers' hosts and units")
        )
    if action.type.startswith("love."):
        found.append(
            _shown(site.links.summary_state, "links.summary_state", "LOVE's Summary state view")
        )
    if isinstance(action, EfdWaitForStates):
        missing = [name for name in DASHBOARDS if name not in site.links.dashboards]
        if missing:
            found.append(
                Unset("links.dashboards", f"Chronograf: {', '.join(missing)}", needed=False)
            )
    if isinstance(action, Announce):
        found += [
            Unset(f"audiences.{name}", "its channels and user groups (the site channel only)",
                  needed=False)
            for name in action.audiences
            if name not in site.audiences
        ]  # fmt: skip
    return [item for item in found if item is not None]


def _if_none(value: object, field: str, what: str) -> Unset | None:
    """Needed by the automation, and unset."""
    return Unset(field, what, needed=True) if value is None else None


def _shown(value: object, field: str, what: str) -> Unset | None:
    """Only shown to a person, and unset."""
    return Unset(field, what, needed=False) if value is None else None


def unset_in_runs(site: SiteConfig, procedure: Procedure) -> list[Unset]:
    """What the site's runs (any kind) would miss, each field once, the needed ones first."""
    actions = (step.action for step in procedure.steps if site.name in step.sites)
    found = _once(item for action in actions for item in unset_for(site, action))
    return sorted(found, key=lambda item: not item.needed)


def _once(items: Iterable[Unset]) -> list[Unset]:
    seen: dict[str, Unset] = {}
    for item in items:
        if item.field not in seen or (item.needed and not seen[item.field].needed):
            seen[item.field] = item
    return list(seen.values())
