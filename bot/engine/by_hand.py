"""How to do a step without the bot: one text per action type, for Slack and the terminal.

When automation fails the lead should not have to remember the page: each step's message
carries what the page says to do by hand, with this site's names filled in (hosts, units, the
kube context, ScriptQueue, the configuration), and links to the views the page names. What
the reference pages do not give (the views' addresses, the bare-metal hosts, the ESS
controllers) is shown as *not configured*, never as a made-up address.

Sources, read on the page (``deploying-the-upgrade.txt``) and in ``rubin-interfaces.md``:
the Summary state view in LOVE and the six Chronograf dashboards ("the names are the same
across sites"); ``./cleanup_all`` and ``./cleanup_nublado`` from lsst-ts/k8s-admin "Ensure
the correct cluster is set" (they print the kube context and ask ``y`` to proceed; ``-d``
adds the ospl-daemon DaemonSets); ``sudo systemctl stop|start <unit>`` on the mcm machines;
CCS's ``setAvailable --withLock`` (observatory-controls-docs); ArgoCD's application page
(:mod:`bot.slack.links` cites its route); the Nublado fallback for a script, the cell of
:mod:`bot.engine.runners.nublado`.

Pure: the run, the step and the site in, a :class:`ByHand` out; :func:`plain` writes it
for the terminal, :mod:`bot.slack.links` for Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot.config.sites import DASHBOARDS
from bot.engine.runners import nublado
from bot.engine.runners.cameras import ccs_target
from bot.engine.runners.love import as_yaml, describing, planned_config
from state.actions import (
    Announce,
    ArgocdSync,
    EfdWaitForStates,
    GithubBranches,
    GithubPullRequest,
    KubeCleanup,
    LoveCommand,
    Manual,
    PreflightCheck,
    RunOtherScript,
    RunSetSummaryState,
    RunShutdownScript,
    SshSystemctl,
)
from state.camera_actions import CcsSetAvailable, LoveEnterControl

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from state.run import Run, StepState

ARGOCD_NAMESPACE = "argocd"
"""Where Phalanx's Application objects live (their ``metadata.namespace``).

ArgoCD's UI routes an application at ``/applications/<namespace>/<name>`` (argo-cd
``ui/src/app/applications/components/utils.tsx`` ``getAppUrl``; the older
``/applications/<name>`` route finds an app only in ArgoCD's own namespace) and filters its
application list by project with ``?proj=`` (``applications-list.tsx`` reads ``proj``)."""

NOT_CONFIGURED = "not configured"


@dataclass(frozen=True, slots=True)
class Link:
    """A view a person opens; ``url`` is ``None`` while the site has not configured it."""

    label: str
    url: str | None


@dataclass(frozen=True, slots=True)
class ByHand:
    """What to do by hand: lines (commands in backticks, cells in fences) and the views."""

    lines: tuple[str, ...]
    links: tuple[Link, ...] = ()


def by_hand(run: Run, state: StepState, site: SiteConfig) -> ByHand | None:
    """How to do ``state``'s step by hand at ``site`` (``None``: nothing to add)."""
    action = state.step.action
    if isinstance(action, RunShutdownScript | RunSetSummaryState | RunOtherScript):
        return _script(run, state, site, action)
    if isinstance(action, GithubPullRequest | GithubBranches):
        return _github(run, site, action)
    if isinstance(action, Manual):
        return _manual(site, action)
    if isinstance(action, SshSystemctl | KubeCleanup):
        return _systemctl(site, action) if isinstance(action, SshSystemctl) else _kube(site, action)
    if isinstance(action, ArgocdSync):
        return _argocd(site, action)
    return _looks(site, action)


def _looks(site: SiteConfig, action: object) -> ByHand | None:
    """The steps done by looking (the views) or by one command or post."""
    if isinstance(action, EfdWaitForStates):
        line = (
            "Check the heartbeats in Chronograf, and the states in LOVE's Summary state view "
            "(a CSC that exited may still read STANDBY: no heartbeat means OFFLINE)."
        )
        return ByHand((line,), _love(site)[:1] + _dashboards(site))
    if isinstance(action, CcsSetAvailable):
        return _ccs(site)
    if isinstance(action, LoveEnterControl | LoveCommand):
        targets = (
            [f"{b.camera}:0" for b in site.camera_bridges]
            if isinstance(action, LoveEnterControl)
            else [f"{action.csc}:{action.index}"]
        )
        command = "enterControl" if isinstance(action, LoveEnterControl) else action.command
        return ByHand((f"In LOVE, send `{command}` to {', '.join(targets)}.",), _love(site))
    if isinstance(action, Announce):
        channels, groups = site.recipients(action.audiences)
        mention = f", mentioning {', '.join(groups)}" if groups else ""
        return ByHand((f"Post the announcement yourself in {', '.join(channels)}{mention}.",))
    if isinstance(action, PreflightCheck):
        line = "Open LOVE, ArgoCD and Chronograf and check that you can log in."
        return ByHand((line,), (*_love(site), Link("ArgoCD", site.argocd_url)))
    return None


def _love(site: SiteConfig) -> tuple[Link, ...]:
    """LOVE's Summary state view (the page's "overall status view"), then LOVE itself."""
    return (Link("LOVE Summary state view", site.links.summary_state), Link("LOVE", site.love_url))


def _dashboards(site: SiteConfig) -> tuple[Link, ...]:
    """The page's Chronograf dashboards, in its order."""
    return tuple(Link(name, site.links.dashboards.get(name)) for name in DASHBOARDS)


def _script(
    run: Run,
    state: StepState,
    site: SiteConfig,
    action: RunShutdownScript | RunSetSummaryState | RunOtherScript,
) -> ByHand:
    add = f"In LOVE, on ScriptQueue {action.queue}, add `{action.script}` "
    add += "(STANDARD)" if action.standard else "(EXTERNAL)"
    config = planned_config(run, state, site, action)
    if config is None and action.proposes_targets():
        what = "one `[Name:index, OFFLINE]` per CSC still up (see the views below)"
        return ByHand((f"{add} with `data:` {what}.",), _love(site) + _dashboards(site)[:1])
    if config is None:
        what = f"the CSCs the site keeps ENABLED: keep_enabled is {NOT_CONFIGURED}"
        return ByHand((f"{add} with `data:` {what}.",), _love(site))
    text = as_yaml(config)
    cell = nublado.add_cell(
        queue=action.queue,
        path=action.script,
        standard=action.standard,
        config=text,
        description=describing(run.run_id, state.id),
    )
    fallback = "If LOVE is not working, Nublado is the fallback (the page): this cell adds it."
    return ByHand((f"{add} with:", f"```\n{text}\n```", fallback, cell), _love(site))


def _unset_hosts(field: str) -> str:
    return f"The hosts and units ({field}) are {NOT_CONFIGURED}: ask the system principals."


def _systemctl(site: SiteConfig, action: SshSystemctl) -> ByHand:
    verb = action.verb
    if action.hosts == "camera-bridges":
        units = [(b.host, b.unit, f" ({b.camera})") for b in site.camera_bridges]
    elif site.bare_metal is not None:
        units = [(u.host, u.unit, "") for u in site.bare_metal]
    else:
        return ByHand((_unset_hosts("bare_metal"),))
    lines = tuple(f"On `{host}`: `sudo systemctl {verb} {unit}`{of}" for host, unit, of in units)
    expect = "inactive" if verb == "stop" else "active"
    return ByHand((*lines, f"Then `systemctl is-active <unit>` reads `{expect}`."))


def _kube(site: SiteConfig, action: KubeCleanup) -> ByHand:
    script = "./cleanup_all" + (" -d" if action.daemonsets else "")
    if action.scope == "nublado":
        script = "./cleanup_nublado"
    context = f"`kubectl config use-context {site.cluster}`"
    lines = (
        f"In a clone of lsst-ts/k8s-admin, set the cluster first: {context}",
        f"then run `{script}`: it prints the context; answer `y` only if it is `{site.cluster}`.",
    )
    return ByHand(lines, (Link("lsst-ts/k8s-admin", "https://github.com/lsst-ts/k8s-admin"),))


def _argocd(site: SiteConfig, action: ArgocdSync) -> ByHand:
    root = site.argocd_url
    apps = list(action.apps)
    if action.project is not None:
        known = site.argocd_projects.get(action.project, ())
        ordered = [*action.first, *(a for a in known if a not in action.first)]
        apps = [app for app in ordered if app not in action.exclude]
    first = f" ({', '.join(action.first)} first)" if action.first else ""
    links = [Link(f"ArgoCD {app}", _app_url(root, app)) for app in apps]
    if action.project is not None:
        url = f"{root}/applications?proj={quote(action.project, safe='')}"
        links.insert(0, Link(f"ArgoCD project {action.project}", url))
    prune = " with Prune" if action.prune else ""
    line = (
        f"In ArgoCD, open each application and press Sync{prune}{first}; wait for Synced "
        "and Healthy (be patient with container pulling)."
    )
    return ByHand((line,), tuple(links))


def _app_url(root: str, app: str) -> str:
    return f"{root}/applications/{ARGOCD_NAMESPACE}/{quote(app, safe='')}"


def _github(run: Run, site: SiteConfig, action: GithubPullRequest | GithubBranches) -> ByHand:
    if isinstance(action, GithubPullRequest):
        merge = "merge it" if action.merge else "have it reviewed and merged"
        head = f"is:pr head:{run.phalanx_branch}" if run.phalanx_branch else "is:pr"
        url = f"https://github.com/{action.repo}/pulls?q={quote(head, safe=':/')}"
        line = (
            f"On GitHub, open a pull request of `{run.phalanx_branch or 'the run branch'}` "
            f"to {action.repo}'s main; {merge}."
        )
        return ByHand((line,), (Link(f"{action.repo} pull requests", url),))
    branch = site.config_branch_of(run.cycle) if run.cycle else None
    if site.config_repos is None or branch is None:
        line = (
            "The configuration repositories and their branch (config_repos, config_branch) "
            f"are {NOT_CONFIGURED}: check with T&S that each has its branch pushed."
        )
        return ByHand((line,))
    links = tuple(
        Link(f"{repo} {branch}", f"https://github.com/{repo}/tree/{quote(branch, safe='/')}")
        for repo in site.config_repos
    )
    return ByHand((f"Check that each repository has `{branch}` pushed to GitHub.",), links)


def _ccs(site: SiteConfig) -> ByHand:
    lines = tuple(
        f"On `{b.host}` ({b.camera}): `ccs-shell`, then `set target {ccs_target(b)}`, "
        "`setAvailable --withLock`, `exit`"
        for b in site.camera_bridges
    )
    return ByHand((*lines, "The camera CSC then reads OFFLINE, AVAILABLE."), _love(site)[:1])


def _manual(site: SiteConfig, action: Manual) -> ByHand | None:
    """The hosts a manual step works on, from the site (the step's text says what to do)."""
    for system, units, field in (
        ("ess-controllers", site.ess_controllers, "ess_controllers"),
        ("bare-metal", site.bare_metal, "bare_metal"),
    ):
        if system in action.touching:
            if units is None:
                return ByHand((_unset_hosts(field),))
            return ByHand(tuple(f"On `{u.host}`: `{u.unit}`" for u in units))
    return None


def plain(hand: ByHand) -> str:
    """For the terminal: the lines, then each view with its address."""
    views = [f"{link.label}: {link.url or NOT_CONFIGURED}" for link in hand.links]
    return "\n".join(["by hand:", *(line.replace("`", "") for line in hand.lines), *views])
