"""The page done by hand: each manual action's time and its assumption, as one data table.

Not derived from the bot: a person following ``deploying-the-upgrade.txt`` step by step, alone,
one thing at a time. ``person`` is the time of a person's hands and eyes (reading dashboards,
typing a script's configuration in LOVE, the ArgoCD UI one app at a time, ssh to each host);
``world`` is the time the systems and other people take whoever drives (a script's run, image
pulls, CSCs starting, the camera team, reviewers), from the same durations as the simulated
observatory (its parameters are in ``integrations/sim``). The bot's run is measured against
this in ``benchmarks/upgrade_duration.py``; ``docs/benchmarks.md`` prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.names import PHASES, Phase


@dataclass(frozen=True)
class Action:
    """One step of the page done by hand."""

    step: str
    """The procedure's step id."""
    phase: Phase
    person: float
    """Minutes of a person's hands and eyes."""
    world: float
    """Minutes of waiting on systems or other people (the same for the bot)."""
    assumption: str


MODEL: tuple[Action, ...] = (
    Action("preflight", "shutdown", 10, 0,
           "open LOVE, ArgoCD, Chronograf (EFD), GitHub and check each: ~2.5 min a system"),
    Action("announce-start", "shutdown", 3, 0, "write and post the Nublado announcement"),
    Action("m2-closed-loop", "shutdown", 15, 0, "M2's EUI, as the bot's simulated lead does it"),
    Action("shutdown-cscs", "shutdown", 3, 10,
           "LOVE: pick system_wide_shutdown.py, type its configuration, add it; it runs "
           "~10 min over 145 CSCs"),
    Action("verify-offline", "shutdown", 10, 0,
           "read the heartbeats of 145 CSCs on the dashboards, list the stragglers"),
    Action("offline-stragglers", "shutdown", 4, 2,
           "type set_summary_state.py's configuration naming each straggler"),
    Action("scriptqueues-offline", "shutdown", 3, 1, "the same for both ScriptQueues, last"),
    Action("stop-camera-bridges", "shutdown", 6, 0,
           "ssh to each of 3 mcm hosts, sudo systemctl stop, check: 2 min a host"),
    Action("announce-camera-stage-1", "shutdown", 2, 0, "message the camera team"),
    Action("bare-metal-shutdown", "shutdown", 12, 0,
           "ssh to each of 6 bare-metal hosts, stop and clean up: 2 min a host"),
    Action("kube-cleanup", "shutdown", 5, 3,
           "check the kube context, run cleanup_all, answer y; deletions take ~3 min"),
    Action("nublado-cleanup", "shutdown", 2, 1, "run cleanup_nublado"),
    Action("phalanx-pr", "configuration", 5, 0,
           "open the Phalanx PR before the start; merged by reviewers during the shutdown"),
    Action("config-branches", "configuration", 5, 0,
           "check each configuration repository's branch in GitHub"),
    Action("bare-metal-config", "configuration", 20, 0, "as the bot's simulated lead does it"),
    Action("ess-controllers", "deployment", 15, 0, "as the bot's simulated lead does it"),
    Action("sync-science-platform", "deployment", 3, 4,
           "ArgoCD UI: review the diff, Sync, watch it turn Healthy (one image pull)"),
    Action("sync-nublado", "deployment", 3, 4, "the same"),
    Action("sync-sasquatch", "deployment", 5, 4, "the same, after reviewing its diff"),
    Action("sync-telescope", "deployment", 10, 36,
           "ArgoCD UI one app at a time, 10 apps: 1 min of clicks and 1.5-4 min of pulls "
           "each (benchmarks/argocd_deploy.py)"),
    Action("announce-camera-stage-2", "deployment", 2, 0, "message the camera team"),
    Action("bare-metal-startup", "deployment", 12, 0,
           "ssh to each of 6 bare-metal hosts, start the services: 2 min a host"),
    Action("verify-end-states", "verification", 15, 0,
           "watch the CSCs come up on the dashboards (20-150 s each), list the stragglers"),
    Action("enable-kept-cscs", "verification", 5, 2,
           "type set_summary_state.py's configuration for the kept CSCs"),
    Action("announce-nublado-available", "verification", 2, 0, "post the announcement"),
)  # fmt: skip
"""The summit's cycle upgrade by hand, step by step."""


def phase_minutes(phase: Phase) -> float:
    """Person and world minutes of one phase (one person: nothing overlaps)."""
    return sum(a.person + a.world for a in MODEL if a.phase == phase)


def total_hours() -> float:
    """The whole upgrade by hand, in hours."""
    return sum(phase_minutes(phase) for phase in PHASES) / 60


def table() -> list[str]:
    """The model as a Markdown table, for ``docs/benchmarks.md``."""
    lines = ["| step | phase | person min | world min | assumption |", "|---|---|---:|---:|---|"]
    lines += [
        f"| {a.step} | {a.phase} | {a.person:g} | {a.world:g} | {a.assumption} |" for a in MODEL
    ]
    return lines
