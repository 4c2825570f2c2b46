"""The page's rules: each broken once in the shipped procedure, and reported precisely."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from bot.config.procedures import load_procedure
from state.problems import Problem
from state.procedure import ProcedureError, parse_procedure
from state.rules import check_rules

SOURCE = "broken.yaml"
RAW: dict[str, Any] = yaml.safe_load(
    resources.files("bot.config").joinpath("data", "procedure.yaml").read_text("utf-8")
)


def default_raw() -> dict[str, Any]:
    """A fresh copy of the shipped procedure as a mapping, to break."""
    return copy.deepcopy(RAW)


def step(raw: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step of a raw procedure with this id."""
    return next(s for s in raw["steps"] if s["id"] == step_id)


def index(raw: dict[str, Any], step_id: str) -> int:
    """Where the step with this id is."""
    return next(i for i, s in enumerate(raw["steps"]) if s["id"] == step_id)


def move_after(raw: dict[str, Any], step_id: str, after: str) -> None:
    """Move a step to just after another."""
    moved = raw["steps"].pop(index(raw, step_id))
    raw["steps"].insert(index(raw, after) + 1, moved)


def problems(raw: dict[str, Any]) -> tuple[Problem, ...]:
    """What the loader reports of the procedure (nothing if it loads)."""
    try:
        parse_procedure(yaml.safe_dump(raw, sort_keys=False), SOURCE)
    except ProcedureError as e:
        error = e
    else:
        return ()
    assert error.source == SOURCE
    assert str(error).startswith(f"{SOURCE}: {len(error.problems)} problem(s):\n")
    return error.problems


def only_problem(raw: dict[str, Any]) -> Problem:
    """The one problem the loader reports."""
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def assert_problem(problem: Problem, step_id: str, field: str, *words: str) -> None:
    """The problem names this step and field, and says these words."""
    assert (problem.step, problem.field) == (step_id, field), problem
    for word in words:
        assert word in problem.message, problem


def test_default_breaks_no_rule() -> None:
    """The shipped procedure, as loaded and as raw YAML, gives no problem."""
    assert check_rules(load_procedure()) == []
    assert problems(default_raw()) == ()


def test_problem_text() -> None:
    """A problem reads as where, field, message."""
    assert str(Problem("a", "phase", "wrong")) == "step 'a', phase: wrong"
    assert str(Problem("a", "", "wrong")) == "step 'a': wrong"
    assert str(Problem(None, "name", "missing")) == "procedure, name: missing"


# ------------------------------------------------------------------------ the Watcher


@pytest.mark.parametrize("start_with", [[], ["ATDome"]], ids=["empty", "without Watcher"])
def test_watcher_missing_from_start_with(start_with: list[str]) -> None:
    """system_wide_shutdown.py must take the Watcher down first."""
    raw = default_raw()
    step(raw, "shutdown-cscs")["action"]["config"]["start_with"] = start_with
    assert_problem(
        only_problem(raw),
        "shutdown-cscs",
        "action.config.start_with",
        "must begin with Watcher",
        "first",
    )


def test_watcher_second_in_start_with() -> None:
    """In start_with but not first: the Watcher's position is what counts."""
    raw = default_raw()
    step(raw, "shutdown-cscs")["action"]["config"]["start_with"] = ["ATDome", "Watcher"]
    assert_problem(
        only_problem(raw), "shutdown-cscs", "action.config.start_with", "must begin with Watcher"
    )


def test_watcher_ignored() -> None:
    """The Watcher may not be on the shutdown's ignore list."""
    raw = default_raw()
    step(raw, "shutdown-cscs")["action"]["config"]["ignore"] = ["MTM1M3TS", "Watcher"]
    assert_problem(
        only_problem(raw), "shutdown-cscs", "action.config.ignore", "Watcher", "not be ignored"
    )


# ------------------------------------------------------------------------ the ScriptQueues


def test_offline_after_the_scriptqueues_step() -> None:
    """A step sending CSCs OFFLINE after the ScriptQueues step is refused."""
    raw = default_raw()
    move_after(raw, "offline-stragglers", "scriptqueues-offline")
    assert_problem(
        only_problem(raw),
        "offline-stragglers",
        "action",
        "sends CSCs OFFLINE after the ScriptQueues step 'scriptqueues-offline'",
        "come down last",
    )


def test_offline_after_the_scriptqueues_step_in_a_later_phase() -> None:
    """Sending CSCs OFFLINE after the ScriptQueues is refused in any phase, not only shutdown."""
    raw = default_raw()
    raw["steps"].append(
        {
            "id": "atdome-offline",
            "title": "ATDome OFFLINE",
            "phase": "verification",
            "needs_approval": True,
            "action": {
                "type": "love.command",
                "csc": "ATDome",
                "command": "exitControl",
                "timeout": "1m",
            },
        }
    )
    assert_problem(
        only_problem(raw),
        "atdome-offline",
        "action",
        "sends CSCs OFFLINE after the ScriptQueues step 'scriptqueues-offline'",
    )


def test_scriptqueues_step_not_the_last_csc_state_step_of_the_shutdown() -> None:
    """No shutdown step may command CSC states after the ScriptQueues step."""
    raw = default_raw()
    raw["steps"].insert(
        index(raw, "scriptqueues-offline") + 1,
        {
            "id": "m1m3-standby",
            "title": "MTM1M3 to STANDBY",
            "phase": "shutdown",
            "needs_approval": True,
            "action": {
                "type": "love.command",
                "csc": "MTM1M3",
                "command": "standby",
                "timeout": "2m",
            },
        },
    )
    assert_problem(
        only_problem(raw),
        "m1m3-standby",
        "action",
        "commands CSC states after the ScriptQueues step 'scriptqueues-offline'",
        "last CSC-state step of the shutdown",
    )


def test_scriptqueues_step_missing() -> None:
    """No ScriptQueues step: a required step missing, in every run, unless waived."""
    raw = default_raw()
    raw["steps"].pop(index(raw, "scriptqueues-offline"))
    problem = only_problem(raw)
    assert problem.step is None
    assert "the ScriptQueues OFFLINE, last is missing: the page requires it" in problem.message
    assert "waived: {scriptqueues-last: <reason>}" in problem.message
    assert "(in " not in problem.message  # every run has the problem: no list of runs


def test_scriptqueues_step_missing_names_a_field() -> None:
    """The missing-ScriptQueues problem names a field of the step, as every other one does."""
    raw = default_raw()
    raw["steps"].pop(index(raw, "scriptqueues-offline"))
    assert only_problem(raw).field != ""


def test_scriptqueues_step_outside_the_shutdown() -> None:
    """The ScriptQueues step belongs to the shutdown phase."""
    raw = default_raw()
    step(raw, "scriptqueues-offline")["phase"] = "configuration"
    move_after(raw, "scriptqueues-offline", "nublado-cleanup")
    phase, *rest = problems(raw)
    assert_problem(phase, "scriptqueues-offline", "phase", "ScriptQueues step", "shutdown")
    # And after the Kubernetes cleanup it comes too late: the cleanup killed the queues, and
    # LOVE, which the step needs, with them.
    assert {(p.step, p.field) for p in rest} == {
        ("kube-cleanup", "action"), ("scriptqueues-offline", "action"),
    }  # fmt: skip


def test_two_scriptqueues_steps_are_refused() -> None:
    """The ScriptQueues come down in one step: a second one sends CSCs OFFLINE after the first."""
    raw = default_raw()
    raw["steps"].insert(
        index(raw, "scriptqueues-offline") + 1,
        {
            "id": "scriptqueue-1-offline",
            "title": "ScriptQueue:1 OFFLINE",
            "phase": "shutdown",
            "needs_approval": True,
            "action": {
                "type": "love.command",
                "csc": "ScriptQueue",
                "index": 1,
                "command": "exitControl",
                "timeout": "1m",
            },
        },
    )
    assert_problem(
        only_problem(raw),
        "scriptqueue-1-offline",
        "action",
        "sends CSCs OFFLINE after the ScriptQueues step 'scriptqueues-offline'",
    )


# ------------------------------------------------------------------------ sasquatch


def test_sasquatch_sync_without_diff() -> None:
    """Syncing sasquatch must show its diff first."""
    raw = default_raw()
    del step(raw, "sync-sasquatch")["action"]["show_diff"]
    assert_problem(
        only_problem(raw), "sync-sasquatch", "action.show_diff", "sasquatch", "diff first"
    )


def test_sasquatch_sync_without_approval() -> None:
    """Syncing sasquatch needs the lead's approval (besides being an ArgoCD sync)."""
    raw = default_raw()
    step(raw, "sync-sasquatch")["needs_approval"] = False
    found = problems(raw)
    assert {(p.step, p.field) for p in found} == {("sync-sasquatch", "needs_approval")}
    assert len(found) == 2, found
    assert "argocd.sync changes the observatory" in found[0].message
    assert found[1].message == "syncing sasquatch needs the lead's approval"


# ------------------------------------------------------------------------ approval

CHANGING = [
    s.id
    for s in load_procedure().steps
    if s.action.changes_observatory() and s.id != "sync-sasquatch"  # two problems, see above
]


def test_changing_steps_of_the_default() -> None:
    """The steps that change the observatory are the ones the page says."""
    assert CHANGING == [
        "prepull-images",
        "shutdown-cscs",
        "offline-stragglers",
        "scriptqueues-offline",
        "stop-camera-bridges",
        "bare-metal-shutdown",
        "kube-cleanup",
        "nublado-cleanup",
        "sync-science-platform",
        "sync-nublado",
        "sync-telescope",
        "camera-startup",
        "camera-enter-control",
        "bare-metal-startup",
        "enable-kept-cscs",
    ]


@pytest.mark.parametrize("step_id", CHANGING)
def test_changing_step_without_approval(step_id: str) -> None:
    """A step that changes the observatory must wait for the lead's approval."""
    raw = default_raw()
    del step(raw, step_id)["needs_approval"]
    action_type = step(raw, step_id)["action"]["type"]
    assert_problem(
        only_problem(raw),
        step_id,
        "needs_approval",
        f"{action_type} changes the observatory",
        "lead must approve",
    )


def test_merging_the_pull_request_needs_approval() -> None:
    """Watching the Phalanx PR needs no approval; merging it from the bot does."""
    raw = default_raw()
    step(raw, "phalanx-pr")["action"]["merge"] = True
    assert_problem(only_problem(raw), "phalanx-pr", "needs_approval", "github.pull_request changes")


# ------------------------------------------------------------------------ summit only


@pytest.mark.parametrize(
    ("step_id", "sites", "system"),
    [
        ("bare-metal-shutdown", ["summit", "tts"], "bare-metal"),
        ("bare-metal-config", ["bts"], "bare-metal"),
        ("ess-controllers", None, "ess-controllers"),
        ("bare-metal-startup", ["tts", "bts"], "bare-metal"),
    ],
)
def test_summit_only_step_given_to_a_test_stand(
    step_id: str, sites: list[str] | None, system: str
) -> None:
    """A step touching bare metal or the ESS controllers must be the summit's only."""
    raw = default_raw()
    if sites is None:
        del step(raw, step_id)["sites"]  # the default: all three sites
    else:
        step(raw, step_id)["sites"] = sites
    assert_problem(
        only_problem(raw), step_id, "sites", f"touches {system}", "summit only", "[summit]"
    )


# ------------------------------------------------------------------------ the whole file


def test_duplicate_ids() -> None:
    """Two steps with one id give one problem naming it."""
    raw = default_raw()
    step(raw, "sync-nublado")["id"] = "sync-science-platform"
    assert_problem(
        only_problem(raw), "sync-science-platform", "id", "used by 2 steps", "must be unique"
    )


def test_duplicate_announcement_keys() -> None:
    """Each step announcing with a key used twice is named."""
    raw = default_raw()
    step(raw, "announce-camera-stage-2")["action"]["key"] = "camera-stage-1"
    found = problems(raw)
    assert [(p.step, p.field) for p in found] == [
        ("announce-camera-stage-1", "action.key"),
        ("announce-camera-stage-2", "action.key"),
    ]
    assert all("announcement key 'camera-stage-1' is used twice" in p.message for p in found)


def test_phases_out_of_order() -> None:
    """A step going back to an earlier phase is named, with the step before it."""
    raw = default_raw()
    move_after(raw, "ess-controllers", "config-branches")  # deployment before a configuration step
    assert_problem(
        only_problem(raw),
        "bare-metal-config",
        "phase",
        "configuration comes after deployment (step 'ess-controllers')",
    )


# ------------------------------------------------------------------------ some runs only


def test_problem_in_some_runs_names_them() -> None:
    """A ScriptQueues step kept at the summit leaves the test stands without one: say which."""
    raw = default_raw()
    step(raw, "scriptqueues-offline")["sites"] = ["summit"]
    problem = only_problem(raw)
    assert problem.step is None
    assert problem.message.endswith(
        "(in tts/cycle-upgrade, tts/system-restart, bts/cycle-upgrade, bts/system-restart)"
    )
    assert "summit/" not in problem.message


def test_problem_in_one_kind_names_those_runs() -> None:
    """A ScriptQueues step kept to system restarts leaves every cycle upgrade without one."""
    raw = default_raw()
    step(raw, "scriptqueues-offline")["kinds"] = ["system-restart"]
    problem = only_problem(raw)
    assert problem.step is None
    assert problem.message.endswith(
        "(in summit/cycle-upgrade, tts/cycle-upgrade, bts/cycle-upgrade)"
    )


def test_every_rule_broken_at_once_is_reported() -> None:
    """Several broken rules give one problem each, in one error."""
    raw = default_raw()
    step(raw, "shutdown-cscs")["action"]["config"]["start_with"] = []
    del step(raw, "sync-sasquatch")["action"]["show_diff"]
    step(raw, "ess-controllers")["sites"] = ["summit", "tts"]
    assert {(p.step, p.field) for p in problems(raw)} == {
        ("shutdown-cscs", "action.config.start_with"),
        ("sync-sasquatch", "action.show_diff"),
        ("ess-controllers", "sites"),
    }


# ---------------------------------------------------------------- the page's order, by run


def test_kubernetes_cleanup_before_the_orderly_shutdown() -> None:
    """cleanup_all before system_wide_shutdown.py kills the Watcher and the queues unannounced."""
    raw = default_raw()
    move_after(raw, "kube-cleanup", "announce-start")
    found = {(p.step, p.field): p for p in problems(raw)}
    assert_problem(found["kube-cleanup", "action"], "kube-cleanup", "action", "no orderly shutdown")
    # And LOVE is gone for the steps that need it after the cleanup.
    assert_problem(found["shutdown-cscs", "action"], "shutdown-cscs", "action", "needs LOVE")


def test_a_step_that_needs_love_while_love_is_gone() -> None:
    """Between cleanup_all (LOVE's Deployments deleted) and LOVE's sync, nothing needs LOVE."""
    raw = default_raw()
    move_after(raw, "enable-kept-cscs", "sync-sasquatch")
    step(raw, "enable-kept-cscs")["phase"] = "deployment"
    assert_problem(
        only_problem(raw), "enable-kept-cscs", "action", "needs LOVE", "'kube-cleanup' deleted"
    )


def test_nublado_cleaned_before_its_users_are_warned() -> None:
    """cleanup_nublado before the announcement to the Nublado users."""
    raw = default_raw()
    move_after(raw, "nublado-cleanup", "preflight")
    assert_problem(only_problem(raw), "nublado-cleanup", "action", "before its users were warned")


def test_stage_1_before_the_bridges_stop() -> None:
    """The camera team may not start Stage 1 while the bridges still run."""
    raw = default_raw()
    move_after(raw, "announce-camera-stage-1", "scriptqueues-offline")
    problem = only_problem(raw)
    assert_problem(problem, "announce-camera-stage-1", "action.key", "bridges are stopped")
    assert problem.message.endswith(
        "(in summit/cycle-upgrade, tts/cycle-upgrade, bts/cycle-upgrade)"
    )


def test_stage_2_before_the_telescope_sync() -> None:
    """Stage 2 only once the T&S applications are deployed."""
    raw = default_raw()
    move_after(raw, "announce-camera-stage-2", "sync-sasquatch")
    assert_problem(only_problem(raw), "announce-camera-stage-2", "action.key", "T&S applications")


def test_a_sync_before_the_phalanx_pull_request() -> None:
    """Nothing is synced before the configuration is merged."""
    raw = default_raw()
    step(raw, "phalanx-pr")["phase"] = "deployment"
    move_after(raw, "phalanx-pr", "sync-science-platform")
    assert_problem(
        only_problem(raw), "sync-science-platform", "action", "before the Phalanx pull request"
    )


@pytest.mark.parametrize(
    ("moved", "after", "late"),
    [
        ("sync-telescope", "ess-controllers", "sync-science-platform"),
        ("sync-sasquatch", "sync-science-platform", "sync-nublado"),
    ],
    ids=["telescope first", "sasquatch before nublado"],
)
def test_the_page_order_of_syncs(moved: str, after: str, late: str) -> None:
    """science-platform, nublado, sasquatch, then telescope: out of order is refused."""
    raw = default_raw()
    move_after(raw, moved, after)
    found = [p for p in problems(raw) if p.step == late]
    assert found, problems(raw)
    assert "the page's order is science-platform, then nublado, then sasquatch" in found[0].message


@pytest.mark.parametrize(
    ("removed", "requirement"),
    [
        (["shutdown-cscs"], "shutdown-script"),
        (["verify-offline"], "offline-check"),
        (["phalanx-pr"], "phalanx-pr"),
        (["verify-end-states"], "end-state-watch"),
    ],
)
def test_a_required_step_is_not_dropped_silently(removed: list[str], requirement: str) -> None:
    """Dropping a step the page requires is refused; waived with a reason, it is accepted."""
    raw = default_raw()
    for step_id in removed:
        raw["steps"].pop(index(raw, step_id))
    problem = only_problem(raw)
    assert problem.step is None
    assert f"waived: {{{requirement}: <reason>}}" in problem.message
    raw["waived"] = {requirement: "done by hand tonight, see the logbook"}
    assert problems(raw) == ()
    raw["waived"] = {requirement: "  "}
    assert "say why" in only_problem(raw).message


@pytest.mark.parametrize(
    ("where", "value", "field", "words"),
    [
        ("ignore", ["mtm1m3ts"], "action.config.ignore", "did you mean 'MTM1M3TS'?"),
        ("ignore", ["MTM1M3:0"], "action.config.ignore", "names here, not instances"),
        (
            "start_with",
            ["Watcher", "Wather"],
            "action.config.start_with",
            "did you mean 'Watcher'?",
        ),
    ],
)
def test_csc_names_in_the_shutdown_are_checked(
    where: str, value: list[str], field: str, words: str
) -> None:
    """The shutdown script's lists take CSC names exactly as ts_xml spells them."""
    raw = default_raw()
    step(raw, "shutdown-cscs")["action"]["config"][where] = value
    assert_problem(only_problem(raw), "shutdown-cscs", field, words)


def test_csc_instances_in_set_summary_state_are_checked() -> None:
    """An index only for an indexed CSC; a Script is no CSC."""
    raw = default_raw()
    config = step(raw, "enable-kept-cscs")["action"]["config"]
    config.pop("targets")
    config.pop("state")
    config["data"] = [["ATDome:3", "ENABLED"], ["Script:100001", "ENABLED"], ["ESS:*", "ENABLED"]]
    found = problems(raw)
    assert [p.message for p in found] == [
        "'ATDome:3': ATDome is not an indexed CSC, write ATDome (or ATDome:0)",
        "Script is a SAL component but not a CSC: it has no summary state",
    ]
    assert all(p.field == "action.config.data" for p in found)


# ------------------------------------------------------------------------ cameras


def test_cameras_handed_over_only_in_a_cycle_upgrade() -> None:
    """In a system restart we start the cameras: no announcement hands them to the camera team."""
    raw = default_raw()
    del step(raw, "announce-camera-stage-2")["kinds"]
    problem = only_problem(raw)
    assert (problem.step, problem.field) == ("announce-camera-stage-2", "kinds")
    assert "belongs to cycle upgrades" in problem.message


@pytest.mark.parametrize("stage", ["camera-ccs-available", "camera-enter-control"])
def test_camera_stages_come_after_the_bridges_start(stage: str) -> None:
    """CCS and enterControl before the bridges run: refused (a camera CSC needs its bridge)."""
    raw = default_raw()
    move_after(raw, stage, "sync-telescope")  # LOVE is back: only this rule
    problem = only_problem(raw)
    assert (problem.step, problem.field) == (stage, "action")
    assert problem.message.startswith("comes before a step that starts the camera bridges")
    assert "(in summit/system-restart, tts/system-restart, bts/system-restart)" in problem.message
