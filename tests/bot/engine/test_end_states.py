"""The end of the deployment as the page says, judged from one EFD reading (no I/O).

"This step is completed when either all CSCs are in STANDBY/OFFLINE or CSCs with issues cannot
be fixed in a reasonable (~30 minutes) amount of time": a CSC beating in STANDBY, or in OFFLINE
(named), is where it should be; the site's auto-enabled CSCs ENABLED; FAULT, silent or another
state is trouble. From the Stage 2 announcement on, the camera CSCs are the camera team's
until they come up. What the watch found is said in its result, the deadline report, the
summary and the Nublado announcement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot.config.sites import SiteConfig, default_sites
from bot.engine import notices
from bot.engine.runners.announce import control_system
from bot.engine.runners.efd import Verdict, judge
from integrations.efd import CscState, SiteStates, SummaryState
from state.commands import (
    ActionSucceeded,
    Approve,
    Cancel,
    DeadlineReached,
    MarkDone,
    RecordAnnouncement,
    RecordBaseline,
    Skip,
)
from state.machine import handle, start
from state.procedure import parse_procedure
from state.run import Run
from tests.support.procedures import WAIVED
from tests.support.runs import LEAD, T0, at, start_command

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)

END = (
    """
name: end
steps:
  - id: sync-telescope
    title: Sync the telescope project
    phase: deployment
    needs_approval: true
    action: {type: argocd.sync, project: telescope, expected: 45m}
  - id: announce-camera-stage-2
    title: Proceed to Stage 2
    phase: deployment
    kinds: [cycle-upgrade]
    action:
      type: announce
      key: camera-stage-2
      audiences: [camera]
      hands_over_cameras: true
      message: "Stage 2"
  - id: verify-end-states
    title: Watch the CSCs come up
    phase: verification
    action: {type: efd.wait_for_states, expect: end-states, deadline: 30m}
"""
    + WAIVED
)

BASELINE = (
    *("ATCamera:0", "ATDome:0", "ESS:101", "MTCamera:0", "MTDome:0", "MTMount:0"),
    *("ScriptQueue:1", "CCCamera:0"),
)


def summit() -> SiteConfig:
    """The summit with one auto-enabled CSC, to keep the readings short."""
    return default_sites()["summit"].model_copy(update={"auto_enabled": ("ScriptQueue:1",)})


def run_at_the_watch(*, stage_2: bool, baseline: tuple[str, ...] = BASELINE) -> Run:
    """A cycle upgrade at its end-state watch (the apps deployed); Stage 2 announced or not."""
    steps = parse_procedure(END, "end").steps
    run, _ = start(None, start_command(site="summit", steps=steps), T0)
    run, _ = handle(run, RecordBaseline(baseline), T0)
    run, _ = handle(run, Approve(LEAD, "sync-telescope", 1), T0)
    run, _ = handle(run, ActionSucceeded("sync-telescope", 1), T0)
    if stage_2:
        run, _ = handle(run, RecordAnnouncement("camera-stage-2", "announce-camera-stage-2"), T0)
    run, _ = handle(run, ActionSucceeded("announce-camera-stage-2", 1), at(1))
    return run


def reading(**cscs: tuple[SummaryState | None, bool]) -> SiteStates:
    """``Name_index=(state, beating)`` as the EFD gives them now."""
    found = {}
    for key, (state, beating) in cscs.items():
        name, _, index = key.rpartition("_")
        found[f"{name}:{index}"] = CscState(name, int(index), state, 1.0 if beating else 600.0)
    return SiteStates(at=NOW, fresh=True, cscs=found)


UP = {
    "ATDome_0": (SummaryState.STANDBY, True),
    "ESS_101": (SummaryState.STANDBY, True),
    "MTDome_0": (SummaryState.STANDBY, True),
    "MTMount_0": (SummaryState.STANDBY, True),
    "ScriptQueue_1": (SummaryState.ENABLED, True),
}
CAMERAS_DOWN = {
    f"{camera}_0": (SummaryState.OFFLINE, False) for camera in ("ATCamera", "MTCamera", "CCCamera")
}
CAMERAS_UP = {
    f"{camera}_0": (SummaryState.STANDBY, True) for camera in ("ATCamera", "MTCamera", "CCCamera")
}


def verdict(run: Run, states: SiteStates) -> Verdict:
    ctx: Any = SimpleNamespace(run=run, site=summit())
    return judge(ctx, states, "end-states")


def test_all_up_as_expected() -> None:
    """Every CSC beating in STANDBY, the auto-enabled ENABLED: done, nothing named."""
    found = verdict(run_at_the_watch(stage_2=False), reading(**UP, **CAMERAS_UP))
    assert (found.trouble, found.offline_up, found.camera_team) == ((), (), ())
    assert found.line == "8 CSCs: 7 STANDBY, 1 ENABLED (by themselves)"


def test_the_counts_add_up_to_the_csc_there_were() -> None:
    """The site's ignored CSCs counted apart, FAULT apart from not yet: the sum is the total."""
    up = {
        **UP,
        "MTM1M3TS_0": (SummaryState.ENABLED, True),  # the summit's ignore: left as they are
        "MTM1M3_0": (SummaryState.DISABLED, True),
        "MTMount_0": (SummaryState.FAULT, True),
        "MTDome_0": (SummaryState.DISABLED, True),
    }
    run = run_at_the_watch(stage_2=False, baseline=(*BASELINE, "MTM1M3TS:0", "MTM1M3:0"))
    found = verdict(run, reading(**up, **CAMERAS_UP))
    assert found.line == (
        "10 CSCs: 5 STANDBY, 1 ENABLED (by themselves), 1 FAULT, 1 not yet; "
        "2 ignored (left as they are)"
    )
    counts = [
        int(part.split()[0]) for part in found.line.split(": ")[1].replace(";", ",").split(", ")
    ]
    assert sum(counts) == int(found.line.split()[0])


def test_a_csc_up_in_offline_is_where_the_page_allows_and_named() -> None:
    """Beating in OFFLINE: not trouble (STANDBY/OFFLINE), named as up in OFFLINE."""
    states = reading(**{**UP, "MTDome_0": (SummaryState.OFFLINE, True)}, **CAMERAS_UP)
    found = verdict(run_at_the_watch(stage_2=False), states)
    assert found.trouble == ()
    assert found.offline_up == ("MTDome:0",)
    assert found.line == "8 CSCs: 6 STANDBY, 1 ENABLED (by themselves), 1 OFFLINE (beating)"


@pytest.mark.parametrize(
    ("csc", "said"),
    [
        ("MTMount_0", "MTMount:0 FAULT, beating"),
        ("ESS_101", "ESS:101 STANDBY, silent 10m"),
        ("MTDome_0", "MTDome:0 DISABLED, beating (expected STANDBY)"),
        ("ScriptQueue_1", "ScriptQueue:1 STANDBY, beating (expected ENABLED)"),
        ("ScriptQueue_1", "ScriptQueue:1 OFFLINE, beating (expected ENABLED)"),
    ],
    ids=["fault", "silent", "another-state", "auto-enabled-in-standby", "auto-enabled-offline"],
)
def test_in_trouble(csc: str, said: str) -> None:
    """FAULT, silent, another state, an auto-enabled CSC not ENABLED: trouble, said why."""
    state = SummaryState[said.split()[1].rstrip(",")]
    states = reading(**{**UP, csc: (state, "silent" not in said)}, **CAMERAS_UP)
    found = verdict(run_at_the_watch(stage_2=False), states)
    assert found.trouble == (said,)
    assert found.line.endswith((", 1 not yet", ", 1 FAULT"))


def test_the_cameras_are_trouble_before_stage_2() -> None:
    """Before they are handed over, silent cameras are trouble like any CSC."""
    found = verdict(run_at_the_watch(stage_2=False), reading(**UP, **CAMERAS_DOWN))
    assert [t.split()[0] for t in found.trouble] == ["ATCamera:0", "CCCamera:0", "MTCamera:0"]
    assert found.camera_team == ()


def test_the_camera_teams_cscs_before_and_after_they_come_up() -> None:
    """After Stage 2 the cameras are the camera team's until they come up, then like any CSC.

    Not up yet, they wait on the camera team (not trouble, not holding the watch up); up,
    they are judged like the others (OFFLINE named, FAULT trouble).
    """
    run = run_at_the_watch(stage_2=True)
    before = verdict(run, reading(**UP, **CAMERAS_DOWN))
    assert before.trouble == ()
    assert before.camera_team == ("ATCamera:0", "CCCamera:0", "MTCamera:0")
    assert before.line == (
        "8 CSCs: 4 STANDBY, 1 ENABLED (by themselves), 3 waiting on the camera team"
    )
    coming = {
        "ATCamera_0": (SummaryState.STANDBY, True),
        "MTCamera_0": (SummaryState.OFFLINE, True),
        "CCCamera_0": (SummaryState.FAULT, True),
    }
    after = verdict(run, reading(**UP, **coming))
    assert after.camera_team == ()
    assert after.offline_up == ("MTCamera:0",)
    assert after.trouble == ("CCCamera:0 FAULT, beating",)


def watched(run: Run, found: Verdict, *, with_trouble: bool) -> Run:
    """The watch ended as ``found`` says (at its deadline if there was trouble)."""
    if with_trouble:
        command: Any = DeadlineReached(
            "verify-end-states", 1, found.trouble, found.offline_up, found.camera_team
        )
    else:
        command = ActionSucceeded(
            "verify-end-states",
            1,
            found.line,
            offline_up=found.offline_up,
            camera_team=found.camera_team,
        )
    return handle(run, command, at(30))[0]


def test_deadline_report_and_summary_say_both_apart_from_the_trouble() -> None:
    """The deadline report and the summary name the OFFLINE-but-up and the camera team's.

    Apart from the CSCs in trouble.
    """
    run = run_at_the_watch(stage_2=True)
    states = reading(
        **{**UP, "MTDome_0": (SummaryState.OFFLINE, True), "MTMount_0": (SummaryState.FAULT, True)},
        **CAMERAS_DOWN,
    )
    found = verdict(run, states)
    watch = run.step("verify-end-states")
    assert watch is not None
    report = notices.deadline_report(run, watch, summit(), found).text
    assert "with 1 CSC(s) still in trouble" in report
    assert "• *MTMount* index 0: last state FAULT" in report
    assert "Up in OFFLINE, as the page allows (not commandable until enterControl): MTDome:0" in (
        report
    )
    assert (
        "Waiting on the camera team (Stage 2), not in trouble: ATCamera:0, CCCamera:0, MTCamera:0"
        in report
    )
    ended = watched(run, found, with_trouble=True)
    summary = notices.run_summary(ended, [], summit()).text
    assert "In trouble at verify-end-states: MTMount:0 FAULT, beating" in summary
    assert "At verify-end-states: Up in OFFLINE, as the page allows" in summary
    assert "At verify-end-states: Waiting on the camera team (Stage 2)" in summary


def test_the_end_announcement_says_back_only_when_the_end_states_were_reached() -> None:
    """The control system is said back only when all came up; else what is missing, who knows."""
    site = summit()
    run = run_at_the_watch(stage_2=True)
    assert control_system(run, site) == (
        "The bot has not verified the CSCs' end states in this run."
    )
    back = watched(run, verdict(run, reading(**UP, **CAMERAS_UP)), with_trouble=False)
    assert control_system(back, site) == "The control system is back."

    cameras = watched(run, verdict(run, reading(**UP, **CAMERAS_DOWN)), with_trouble=False)
    assert control_system(cameras, site) == (
        "The control system is back but for the cameras, which the camera team is still "
        "bringing up (Stage 2): ATCamera:0, CCCamera:0, MTCamera:0. (As the end-state watch "
        "found them.)"
    )

    fault = {**UP, "MTMount_0": (SummaryState.FAULT, True)}
    trouble = watched(run, verdict(run, reading(**fault, **CAMERAS_UP)), with_trouble=True)
    said = control_system(trouble, site)
    assert said.startswith(
        "The control system is *not* all back: 1 CSC(s) still in trouble (MTMount:0); "
        "no principal messaged by the bot."
    )
    told, _ = handle(trouble, RecordAnnouncement("deadline:verify-end-states#1"), at(31))
    told, _ = handle(told, RecordAnnouncement("dm:verify-end-states#1:U01MTMOUNT01"), at(32))
    assert "(MTMount:0); reported in #summit-announce; their principals messaged: " in (
        control_system(told, site)
    )
    assert "<@U01MTMOUNT01>" in control_system(told, site)


def test_the_end_announcement_when_the_watch_was_skipped_or_done_by_hand() -> None:
    """Not verified by the bot: it says so, with who and why."""
    site = summit()
    run = run_at_the_watch(stage_2=False)
    watch = run.step("verify-end-states")
    assert watch is not None
    stopped, _ = handle(run, Cancel(LEAD, watch.id, watch.revision), at(2))
    failed = stopped.step(watch.id)
    assert failed is not None
    skipped, _ = handle(stopped, Skip(LEAD, watch.id, failed.revision, reason="EFD down"), at(3))
    assert control_system(skipped, site) == (
        "The end-state watch was skipped (EFD down): the CSCs were not verified."
    )
    note = "checked in LOVE's summary state view"
    by_hand, _ = handle(stopped, MarkDone(LEAD, watch.id, failed.revision, note=note), at(3))
    assert control_system(by_hand, site) == (f"The end states were marked done by U_LEAD: {note}.")
