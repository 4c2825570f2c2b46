"""A procedure fitted to a site: its deadlines, its applications, the steps done by hand.

The procedure is the same for the three sites; what differs is here. A run keeps the steps
:func:`run_steps` gives it (they are recorded when the run starts), so a site's configuration
changed later does not change a run under way.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.config.sites import SiteConfig
from bot.config.unset import unset_for
from state.actions import ArgocdSync, EfdWaitForStates, KubePrepull, Manual, RunSetSummaryState
from state.problems import Problem, did_you_mean
from state.procedure import Procedure, Step


def run_steps(site: SiteConfig, steps: Sequence[Step]) -> tuple[Step, ...]:
    """The run's steps: this site's watch deadlines, and by hand where it is unconfigured.

    A pre-pull the site does not enable is not in the run at all.

    A step whose automation needs what the site leaves unset is done by hand: the bot never
    acts on a guess. A step with nothing to do at this site (:func:`nothing_to_do`) is left
    out, so that no approval is asked for an empty list.
    """
    left_out = dict(nothing_to_do(site, steps))
    return tuple(
        _by_hand(site, _deadline(site, step))
        for step in steps
        if step.id not in left_out and _enabled(site, step)
    )


def nothing_to_do(site: SiteConfig, steps: Sequence[Step]) -> tuple[tuple[str, str], ...]:
    """The steps left out of this site's runs, and why (shown as waived in the run).

    ``set_summary_state.py`` for the CSCs the site keeps ENABLED, when it configured that list
    empty: the script refuses an empty ``data`` (its schema: at least one item), and asking the
    lead to approve ``data: []`` asks nothing.
    """
    return tuple(
        (step.id, f"{site.name} keeps no CSC ENABLED at the end (keep_enabled: [])")
        for step in steps
        if isinstance(step.action, RunSetSummaryState)
        and step.action.config.targets == "keep-enabled"
        and site.keep_enabled == ()
    )


def _enabled(site: SiteConfig, step: Step) -> bool:
    """A pre-pull is left out of the runs of a site that does not enable it (the default)."""
    return not isinstance(step.action, KubePrepull) or site.prepull.enabled


def _deadline(site: SiteConfig, step: Step) -> Step:
    if step.id not in site.deadlines or not isinstance(step.action, EfdWaitForStates):
        return step
    action = step.action.model_copy(update={"deadline": site.deadlines[step.id]})
    return step.model_copy(update={"action": action})


def _by_hand(site: SiteConfig, step: Step) -> Step:
    needed = [item for item in unset_for(site, step.action) if item.needed]
    if not needed:
        return step
    lacking = "; ".join(item.line() for item in needed)
    note = (
        f"**Done by hand at this run**: the bot does not run `{step.action.type}` here because "
        f"the {site.name} configuration does not set {lacking} (`upgrade-bot config validate` "
        "lists what is unset). Do it as below, then Mark done with what was done."
    )
    return step.model_copy(
        update={
            "action": Manual(type="manual", touching=step.action.touches()),
            "instructions": f"{note}\n\n{step.instructions}".strip(),
        }
    )


def procedure_problems(site: SiteConfig, procedure: Procedure) -> list[Problem]:
    """What in the procedure this site cannot honour (each names the site)."""
    watches = {s.id for s in procedure.steps if isinstance(s.action, EfdWaitForStates)}
    problems = [
        Problem(
            None,
            "",
            f"the {site.name} configuration's deadlines name {step_id!r}, not a watch step of "
            f"the procedure (one of: {', '.join(sorted(watches))})",
        )
        for step_id in site.deadlines
        if step_id not in watches
    ]
    for step in procedure.steps:
        if site.name in step.sites and isinstance(step.action, ArgocdSync):
            problems += _app_problems(site, step.id, step.action)
    return problems


def _app_problems(site: SiteConfig, step_id: str, action: ArgocdSync) -> list[Problem]:
    """``first`` and ``exclude`` name applications the site's project has.

    A misspelt ``first`` would otherwise be synced with the rest in the parallel batch, and a
    misspelt ``exclude`` synced when it should not be.
    """
    if action.project is None or not (action.first or action.exclude):
        return []
    apps = site.argocd_projects.get(action.project)
    if apps is None:
        message = (
            f"the {site.name} configuration does not list project {action.project!r}'s "
            "applications (argocd_projects), so first and exclude cannot be checked"
        )
        return [Problem(step_id, "action.project", message)]
    return [
        Problem(
            step_id,
            f"action.{field}",
            f"{app!r} is not an application of project {action.project!r} at {site.name}"
            + (did_you_mean(app, apps, 0.6) or f" (its apps: {', '.join(apps)})"),
        )
        for field, names in (("first", action.first), ("exclude", action.exclude))
        for app in names
        if app not in apps
    ]
