"""Simulated LOVE and ScriptQueues: the standard scripts, their schemas, faults and cancel."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest
import yaml

from integrations.efd import SummaryState
from integrations.errors import IntegrationError, Unreachable
from integrations.kube import Deletion
from integrations.love import QueueState, ScriptRun
from integrations.sim import SimObservatory
from integrations.sim.world import spread
from tests.integrations.sim.conftest import T0, ManualClock, Progress, alive, reading

IGNORE = ["MTM1M3TS", "MTM1M3"]
SHUTDOWN = {
    "user": "demo-lead",
    "reason": "cycle-upgrade of summit (run 1)",
    "start_with": ["Watcher"],
    "ignore": IGNORE,
}
CAMERAS = {"ATCamera:0", "MTCamera:0", "CCCamera:0"}
QUEUES = {"ScriptQueue:1", "ScriptQueue:2", "ScriptQueue:3"}


def text(config: dict[str, Any]) -> str:
    """A configuration as the runner sends it: YAML text."""
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None)


async def run(
    observatory: SimObservatory,
    path: str,
    config: dict[str, Any] | str,
    report: Progress | None = None,
    queue: int = 1,
) -> ScriptRun:
    """Queue a standard script and follow it to its end."""
    return await observatory.love.run_script(
        queue=queue,
        path=path,
        standard=True,
        config=config if isinstance(config, str) else text(config),
        description="upgrade-bot test",
        report=report or Progress(),
    )


def beating(observatory: SimObservatory) -> set[str]:
    """The CSC instances running now (their beats reach the EFD within a second)."""
    world = observatory.world
    return {ref for ref in world.specs if world.beating(ref)}


def gone(observatory: SimObservatory, ref: str) -> bool:
    """Silent or OFFLINE, as the page judges a CSC down."""
    world = observatory.world
    return not world.beating(ref) or world.state(ref) is SummaryState.OFFLINE


@pytest.mark.asyncio
async def test_system_wide_shutdown(
    summit: SimObservatory, clock: ManualClock, progress: Progress
) -> None:
    """Everyone but the ignored CSCs and the ScriptQueues goes; the Watcher first."""
    result = await run(summit, "system_wide_shutdown.py", SHUTDOWN, progress)
    assert result == ScriptRun(queue=1, script_index=100_001, final_state="DONE")
    assert clock.now() - T0 > timedelta(minutes=5)
    clock.advance(15)
    states = await summit.efd.states()
    assert states.fresh
    kept = {"MTM1M3:0", "MTM1M3TS:0"} | QUEUES
    assert await alive(summit) == kept | CAMERAS
    for ref, csc in states.cscs.items():
        if ref in kept:
            assert csc.alive
            assert csc.summary_state is not SummaryState.OFFLINE
        else:
            assert not csc.alive or csc.summary_state is SummaryState.OFFLINE, ref
    assert states.cscs["MTM1M3TS:0"].summary_state is SummaryState.ENABLED
    assert states.cscs["MTM1M3:0"].summary_state is SummaryState.DISABLED
    for ref in CAMERAS:  # a camera CSC lives in its bridge: OFFLINE is a state, it still beats
        assert states.cscs[ref].summary_state is SummaryState.OFFLINE
        assert states.cscs[ref].alive
    silent = {ref: c.heartbeat_age for ref, c in states.cscs.items() if not c.alive}
    assert len(silent) == 150 - 5 - 3
    oldest = max(silent, key=lambda ref: silent[ref] or 0.0)
    assert oldest == "Watcher:0"
    assert progress.lines
    assert progress.lines[0] == "system_wide_shutdown.py (script 100001) RUNNING: 0/145 done"
    assert all(
        line.startswith("system_wide_shutdown.py (script 100001) RUNNING: ")
        for line in progress.lines
    )
    assert len(set(progress.lines)) == len(progress.lines)


@pytest.mark.asyncio
async def test_shutdown_end_with_goes_last(tts: SimObservatory, clock: ManualClock) -> None:
    """``end_with`` CSCs go after all the others; at TTS nothing is ignored (M1M3 goes too)."""
    config = {"user": "lead", "reason": "upgrade", "start_with": ["Watcher"], "end_with": ["ESS"]}
    await run(tts, "system_wide_shutdown.py", config)
    clock.advance(15)
    states = await tts.efd.states()
    assert {ref for ref, c in states.cscs.items() if c.alive} == QUEUES | {
        "ATCamera:0",
        "CCCamera:0",
    }
    ages = {ref: c.heartbeat_age or 0.0 for ref, c in states.cscs.items() if not c.alive}
    ess = [age for ref, age in ages.items() if ref.startswith("ESS:")]
    others = [age for ref, age in ages.items() if not ref.startswith("ESS:")]
    assert len(ess) == 13
    assert max(ess) < min(others)
    assert max(ages, key=lambda ref: ages[ref]) == "Watcher:0"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "config", "message"),
    [
        (
            "system_wide_shutdown.py",
            {**SHUTDOWN, "ignored": ["MTM1M3"]},
            "Additional properties are not allowed ('ignored' was unexpected)",
        ),
        (
            "system_wide_shutdown.py",
            {"user": "demo-lead", "start_with": ["Watcher"]},
            "'reason' is a required property",
        ),
        ("set_summary_state.py", {"data": []}, "data: [] should be non-empty"),
        ("set_summary_state.py", {"mute_alarms": False}, "'data' is a required property"),
        (
            "set_summary_state.py",
            {"data": [["ATDome:0", "FAULT"]]},
            "state must be one of DISABLED, ENABLED, OFFLINE, STANDBY",
        ),
        ("system_wide_shutdown.py", "- user\n- reason\n", "configuration must be a mapping"),
        ("system_wide_shutdown.py", "user: [unclosed\n", "configuration is not YAML"),
    ],
)
async def test_bad_configuration(
    summit: SimObservatory, path: str, config: dict[str, Any] | str, message: str
) -> None:
    """A configuration its schema refuses ends CONFIGURE_FAILED, touching nobody."""
    with pytest.raises(IntegrationError) as caught:
        await run(summit, path, config)
    error = caught.value
    assert error.system == "ScriptQueue"
    assert error.host == "summit-lsp.lsst.codes"
    assert f"{path} (script 100001) on ScriptQueue 1 ended CONFIGURE_FAILED: " in error.message
    assert error.status == "CONFIGURE_FAILED"
    assert message in error.message
    assert len(await alive(summit)) == 150


@pytest.mark.asyncio
async def test_stuck_csc_fails_the_shutdown(summit: SimObservatory, clock: ManualClock) -> None:
    """A CSC that will not go OFFLINE ends the script FAILED with the script's own count."""
    await summit.inject("csc-stuck:MTDome:0")
    with pytest.raises(IntegrationError) as caught:
        await run(summit, "system_wide_shutdown.py", SHUTDOWN)
    assert caught.value.message == (
        "system_wide_shutdown.py (script 100001) on ScriptQueue 1 ended FAILED: "
        "A total of 1 components failed to transition to offline."
    )
    assert caught.value.status == "FAILED"
    clock.advance(15)
    assert await alive(summit) == {"MTM1M3:0", "MTM1M3TS:0", "MTDome:0"} | QUEUES | CAMERAS


@pytest.mark.asyncio
async def test_failed_script_pauses_its_queue(summit: SimObservatory, clock: ManualClock) -> None:
    """As ts_scriptqueue: the next script waits behind the failed one until cmd_resume."""
    await summit.inject("csc-stuck:MTDome:0")
    with pytest.raises(IntegrationError):
        await run(summit, "system_wide_shutdown.py", SHUTDOWN)
    paused = await summit.love.queue_state(1)
    failed = "system_wide_shutdown.py (script 100001) FAILED"
    assert (paused.running, paused.current) == (False, failed)
    assert [s.line() for s in paused.scripts] == [failed]
    assert await summit.love.queue_state(2) == QueueState(2, running=True)

    progress = Progress()
    waiting = asyncio.create_task(run(summit, "other.py", {}, progress))
    for _ in range(50):
        await clock.sleep(60)
    assert not waiting.done()
    assert progress.lines == ["other.py (script 100002) waiting: ScriptQueue 1 is paused"]
    states = await summit.efd.states()  # the waiting script beats, as lsst.sal.Script
    assert states.scripts["Script:100002"].alive
    assert not any(ref.startswith("Script:") for ref in states.cscs)

    await summit.love.resume(1)
    assert (await waiting).final_state == "DONE"
    resumed = await summit.love.queue_state(1)
    assert (resumed.running, resumed.current) == (True, "")


@pytest.mark.asyncio
async def test_scriptqueues_offline_last(summit: SimObservatory, clock: ManualClock) -> None:
    """set_summary_state on queue 1 takes ScriptQueues 3, 2 then 1 OFFLINE.

    Queue 1 goes last and, exiting, terminates the script itself (ts_scriptqueue close_tasks):
    it never ends DONE; its queue's silence is the proof.
    """
    config = {
        "data": [["ScriptQueue:3", "OFFLINE"], ["ScriptQueue:2", "OFFLINE"],
                 ["ScriptQueue:1", "OFFLINE"]],
        "mute_alarms": False,
    }  # fmt: skip
    with pytest.raises(IntegrationError) as ended:
        await run(summit, "set_summary_state.py", config)
    assert ended.value.status == "TERMINATED"
    assert "ScriptQueue 1 exited (ts_scriptqueue close_tasks)" in ended.value.message
    clock.advance(15)
    states = await summit.efd.states()
    assert all(gone(summit, ref) for ref in QUEUES)
    assert not any(states.cscs[ref].alive for ref in QUEUES)
    ages = [states.cscs[f"ScriptQueue:{q}"].heartbeat_age or 0.0 for q in (3, 2, 1)]
    assert ages == sorted(ages, reverse=True)
    assert len(await alive(summit)) == 147
    with pytest.raises(IntegrationError) as caught:
        await run(summit, "set_summary_state.py", config)
    assert caught.value.status == 504


@pytest.mark.asyncio
async def test_set_all_ess_enabled(summit: SimObservatory, clock: ManualClock) -> None:
    """``ESS:*`` ENABLED walks only the ESS instances that run, and they end ENABLED."""
    stopped = [Deletion("Job", "ess-101", "envsys"), Deletion("Job", "ess-1", "envsys")]
    await summit.cluster.delete(stopped, Progress())
    clock.advance(15)
    before = {ref: summit.world.state(ref) for ref in ("ESS:1", "ESS:101")}
    progress = Progress()
    result = await run(summit, "set_summary_state.py", {"data": [["ESS:*", "ENABLED"]]}, progress)
    assert result.final_state == "DONE"
    states = await summit.efd.states()
    ess = {ref: c for ref, c in states.cscs.items() if ref.startswith("ESS:")}
    assert len(ess) == 67
    for ref, csc in ess.items():
        if ref in before:
            assert not csc.alive
            assert csc.summary_state is before[ref]
        else:
            assert csc.alive
            assert csc.summary_state is SummaryState.ENABLED, ref
    script = summit.world.doc["scripts"]["100001"]
    assert len(script["targets"]) == 65
    assert "ESS:101" not in script["targets"]
    assert progress.lines[0].endswith("/65 done")


@pytest.mark.asyncio
async def test_set_states_walks_the_state_machine(
    summit: SimObservatory, clock: ManualClock
) -> None:
    """Each CSC passes through the states between where it is and where it must go."""
    world = summit.world
    assert world.state("ATDome:0") is SummaryState.STANDBY
    assert world.state("ATPneumatics:0") is SummaryState.ENABLED
    config = {"data": [["ATDome", "ENABLED"], ["ATPneumatics:0", "STANDBY"]]}
    task = asyncio.create_task(run(summit, "set_summary_state.py", config))
    seen: dict[str, list[SummaryState]] = {"ATDome:0": [], "ATPneumatics:0": []}
    while not task.done():
        for ref, states in seen.items():
            state = summit.world.state(ref)
            if state is not None and (not states or states[-1] is not state):
                states.append(state)
        await asyncio.sleep(0)
    assert (await task).final_state == "DONE"
    assert seen["ATDome:0"] == [
        SummaryState.STANDBY,
        SummaryState.DISABLED,
        SummaryState.ENABLED,
    ]
    assert seen["ATPneumatics:0"] == [
        SummaryState.ENABLED,
        SummaryState.DISABLED,
        SummaryState.STANDBY,
    ]
    clock.advance(15)
    assert len(await alive(summit)) == 150


@pytest.mark.asyncio
async def test_set_state_of_a_silent_csc_fails(summit: SimObservatory, clock: ManualClock) -> None:
    """A CSC that does not beat cannot be ENABLED: the script says who did not respond."""
    await summit.cluster.delete([Deletion("Job", "atdome", "auxtel")], Progress())
    clock.advance(15)
    with pytest.raises(IntegrationError) as caught:
        await run(summit, "set_summary_state.py", {"data": [["ATDome:0", "ENABLED"]]})
    assert caught.value.message.endswith(
        "ended FAILED: ATDome:0 did not respond: no heartbeat in 60s"
    )


@pytest.mark.asyncio
async def test_set_state_of_a_faulty_csc_fails(summit: SimObservatory) -> None:
    """A CSC with csc-fault goes back to FAULT and the script stops there."""
    await summit.inject("csc-fault:ATDome:0")
    config = {"data": [["ATDome:0", "ENABLED"], ["ATMCS:0", "ENABLED"]]}
    with pytest.raises(IntegrationError, match="ATDome:0 is in FAULT"):
        await run(summit, "set_summary_state.py", config)
    assert summit.world.state("ATMCS:0") is SummaryState.STANDBY


@pytest.mark.asyncio
async def test_other_script_runs_a_minute(summit: SimObservatory, clock: ManualClock) -> None:
    """Any other script is queued, runs about a minute and ends DONE."""
    result = await summit.love.run_script(
        queue=2, path="auxtel/prepare_for/onsky.py", standard=False, config="",
        description="test", report=Progress(),
    )  # fmt: skip
    assert result == ScriptRun(queue=2, script_index=100_001, final_state="DONE")
    assert timedelta(seconds=68) <= clock.now() - T0 <= timedelta(seconds=75)
    assert summit.world.doc["next_script"] == 100_002


@pytest.mark.asyncio
async def test_queue_not_running(bts: SimObservatory) -> None:
    """A script for a queue that does not run is not acknowledged: 504."""
    with pytest.raises(IntegrationError) as caught:
        await run(bts, "system_wide_shutdown.py", SHUTDOWN, queue=3)
    error = caught.value
    assert error.status == 504
    assert error.system == "LOVE"
    assert error.host == "base-lsp.lsst.codes"
    assert "ScriptQueue:3 is not running ENABLED" in error.message
    assert error.detail == '{"ack": "Command time out"}'
    assert bts.world.doc["scripts"] == {}


@pytest.mark.asyncio
async def test_love_down(summit: SimObservatory) -> None:
    """With love-down, ping, scripts and commands cannot connect: nothing is sent, or queued."""
    await summit.love.ping()
    await summit.inject("love-down")
    for call in (
        summit.love.ping(),
        run(summit, "system_wide_shutdown.py", SHUTDOWN),
        summit.love.command(csc="ATDome", index=0, command="disable"),
    ):
        with pytest.raises(Unreachable) as caught:
            await call
        assert "cannot connect" in caught.value.message
    assert summit.world.doc["scripts"] == {}
    assert len(await alive(summit)) == 150


async def until(clock: ManualClock, seconds: float) -> None:
    """Give the running tasks turns until ``seconds`` of clock passed since T0."""
    for _ in range(10_000):
        if clock.now() - T0 >= timedelta(seconds=seconds):
            return
        await asyncio.sleep(0)
    pytest.fail(f"the clock did not reach T0 + {seconds} s")


@pytest.mark.asyncio
async def test_cancel_stops_the_script_and_its_effects(
    summit: SimObservatory, clock: ManualClock, progress: Progress
) -> None:
    """Cancelling the call then cancel() stops the script: those not yet gone stay up."""
    task = asyncio.create_task(run(summit, "system_wide_shutdown.py", SHUTDOWN, progress))
    await until(clock, 120)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await summit.love.cancel()
    up = beating(summit)
    assert 100 < len(up) < 140
    assert "Watcher:0" not in up
    clock.advance(3600)
    assert beating(summit) == up
    assert await alive(summit) == up
    assert summit.world.doc["pending"] == []
    script = summit.world.doc["scripts"]["100001"]
    assert script["state"] == "STOPPED"
    assert script["message"] == "stopped by the user (cmd_stopScripts)"


@pytest.mark.asyncio
async def test_cancel_while_following(summit: SimObservatory, clock: ManualClock) -> None:
    """cancel() while the call still follows the script ends the call with STOPPED."""
    task = asyncio.create_task(run(summit, "system_wide_shutdown.py", SHUTDOWN))
    await until(clock, 60)
    await summit.love.cancel()
    with pytest.raises(IntegrationError, match="ended STOPPED: stopped by the user"):
        await task
    up = beating(summit)
    assert len(up) > 100
    clock.advance(3600)
    assert await alive(summit) == up


@pytest.mark.asyncio
async def test_cancel_leaves_finished_scripts(summit: SimObservatory, clock: ManualClock) -> None:
    """A script that ended is not this client's any more: cancel() changes nothing."""
    await run(summit, "set_summary_state.py", {"data": [["ATDome:0", "DISABLED"]]})
    await summit.love.cancel()
    assert summit.world.doc["scripts"]["100001"]["state"] == "DONE"
    clock.advance(60)
    assert summit.world.state("ATDome:0") is SummaryState.DISABLED


@pytest.mark.asyncio
async def test_command_changes_state(summit: SimObservatory, clock: ManualClock) -> None:
    """A state command is acknowledged once the CSC is in its new state."""
    assert summit.world.state("ATPneumatics:0") is SummaryState.ENABLED
    ack = await summit.love.command(csc="ATPneumatics", index=0, command="disable")
    assert ack == "Done"
    assert clock.now() - T0 == timedelta(seconds=spread("ATPneumatics:0disable", 1, 4))
    assert (await reading(summit, "ATPneumatics:0")).summary_state is SummaryState.DISABLED
    assert await summit.love.command(csc="ATPneumatics", index=0, command="setLogLevel") == "Done"
    assert summit.world.state("ATPneumatics:0") is SummaryState.DISABLED


@pytest.mark.asyncio
async def test_command_to_a_silent_csc(summit: SimObservatory, clock: ManualClock) -> None:
    """A command to a CSC that does not run times out (504)."""
    await summit.cluster.delete([Deletion("Job", "atdome", "auxtel")], Progress())
    clock.advance(15)
    with pytest.raises(IntegrationError) as caught:
        await summit.love.command(csc="ATDome", index=0, command="enterControl")
    assert caught.value.status == 504
    assert caught.value.message == "cmd_enterControl to ATDome:0: Command time out"


@pytest.mark.asyncio
async def test_exit_control_acknowledged_once_gone(summit: SimObservatory) -> None:
    """When exitControl is acknowledged the CSC has left: it reads OFFLINE or beats no more."""
    assert summit.world.state("ATDome:0") is SummaryState.STANDBY
    await summit.love.command(csc="ATDome", index=0, command="exitControl")
    assert gone(summit, "ATDome:0")


@pytest.mark.asyncio
async def test_stuck_csc_ignores_exit_control(summit: SimObservatory, clock: ManualClock) -> None:
    """A stuck CSC does not go OFFLINE on a direct exitControl either."""
    await summit.inject("csc-stuck:MTDome:0")
    with contextlib.suppress(IntegrationError):  # a time-out ack is fine; exiting is not
        await summit.love.command(csc="MTDome", index=0, command="exitControl")
    clock.advance(60)
    assert (await reading(summit, "MTDome:0")).alive
