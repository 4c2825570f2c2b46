"""Simulated LOVE and ScriptQueues: the standard scripts do what they do for real.

``system_wide_shutdown.py`` takes down every beating CSC but the ignored ones and the
ScriptQueues (start_with first, end_with last), and ends FAILED naming how many would not go;
``set_summary_state.py`` walks its ``data`` in order and stops at the first CSC that does not
reach its state. Configurations are checked like the scripts' own schemas (no unknown keys).
As ts_scriptqueue does, a script that ends FAILED pauses its queue and stays current: scripts
queued after it wait until someone resumes the queue (``cmd_resume``).
"""

from __future__ import annotations

from typing import Any

import yaml

from integrations.base import Report
from integrations.efd import OfflineDetailedState, SummaryState
from integrations.errors import IntegrationError, NoAnswer, Unreachable
from integrations.love import QueuedScript, QueueState, ScriptRun
from integrations.sim.part import Core, Part
from integrations.sim.world import World, spread

LOAD = 8.0
"""Seconds a script takes to load and configure."""
POLL = 5.0
"""Seconds between looks at a running script (LOVE's ScriptQueue view refreshes as often)."""
REPORT = 30.0
"""Seconds between progress lines while a script runs."""
STUCK_TIMEOUT = 60.0
"""Seconds a script waits for a CSC that does not move before it gives up on it."""
OTHER_SCRIPT = 60.0
"""Seconds any other script takes."""

_KEYS = {
    "system_wide_shutdown.py": ({"user", "reason"}, {"ignore", "start_with", "end_with"}),
    "set_summary_state.py": ({"data"}, {"mute_alarms", "mute_duration"}),
}
_SETTABLE = {"OFFLINE", "STANDBY", "DISABLED", "ENABLED"}
_ORDER = [SummaryState.STANDBY, SummaryState.DISABLED, SummaryState.ENABLED]


class SimLove(Part):
    """The LOVE manager of the simulated site."""

    system = "LOVE"

    def __init__(self, core: Core) -> None:
        """Scripts this client queued are remembered, to stop them on cancel."""
        super().__init__(core)
        self._mine: set[str] = set()

    def _reachable(self, world: World) -> None:
        """LOVE answers: not made unreachable (``love-down``), and its Deployments exist.

        Without its Deployments the site's ingress answers 503 itself (nginx-ingress, no
        endpoints): the manager never saw the request, but the client cannot tell that from a
        5xx of LOVE's own.
        """
        if world.has_fault("love-down"):
            raise Unreachable(
                self.system,
                "POST cmd/: cannot connect: Connection refused",
                host=world.site.fqdn,
            )
        if not world.love_up():
            raise IntegrationError(
                self.system,
                "503 Service Temporarily Unavailable",
                host=world.site.fqdn,
                status=503,
            )

    def _queue_ready(self, world: World, queue: int) -> None:
        ref = f"ScriptQueue:{queue}"
        if not world.beating(ref) or world.state(ref) is not SummaryState.ENABLED:
            raise IntegrationError(
                self.system,
                f"cmd_add to {ref} not acknowledged ({ref} is not running ENABLED)",
                host=world.site.fqdn,
                status=504,
                detail='{"ack": "Command time out"}',
            )

    async def ping(self) -> None:
        """LOVE answers when it is up."""
        self._reachable(await self._enter())

    async def run_script(
        self,
        *,
        queue: int,
        path: str,
        standard: bool,
        config: str,
        description: str,
        report: Report,
    ) -> ScriptRun:
        """Queue the script, play it out on the world, follow it to its end.

        With ``love-timeout``, the first script is queued but no answer comes back: the
        caller cannot tell whether it was (as a real ``cmd_add`` that timed out).
        """
        del standard
        world = await self._enter()
        self._reachable(world)
        self._queue_ready(world, queue)
        core = self._core
        index = str(world.doc["next_script"])
        world.doc["next_script"] += 1
        world.doc["scripts"][index] = {"queue": queue, "path": path, "state": "RUNNING",
                                       "message": "", "targets": [],
                                       "description": description}  # fmt: skip
        self._mine.add(index)
        problem = _config_problem(path, config)
        if problem:  # configured while waiting: fails even behind a paused queue
            world.schedule(
                core.now() + LOAD,
                "script",
                index,
                {"state": "CONFIGURE_FAILED", "message": problem},
            )
        elif str(queue) in world.paused():
            world.doc["scripts"][index].update(state="WAITING", config=config)
        else:
            _play(world, index, path, config, core.now() + LOAD)
        await core.save()
        if world.has_fault("love-timeout") and not world.doc.get("love_timeout_spent"):
            world.doc["love_timeout_spent"] = True
            await core.save()
            raise NoAnswer(
                self.system,
                f"POST cmd/: no answer in 60s; {path} may have been queued on ScriptQueue {queue}",
                host=world.site.fqdn,
            )
        # Kept in _mine if this call is cancelled: the script runs on in the queue until
        # cancel() stops it, as a real client's abandoned call would leave it.
        result = await self._follow(index, path, report)
        self._mine.discard(index)
        return result

    async def follow(self, *, queue: int, index: int, path: str, report: Report) -> ScriptRun:
        """Follow a script already in the queue to its end."""
        world = await self._enter()
        self._reachable(world)
        script = world.doc["scripts"].get(str(index))
        if script is None or script["queue"] != queue:
            raise IntegrationError(
                "ScriptQueue", f"no script {index} in ScriptQueue {queue}", host=world.site.fqdn
            )
        self._mine.add(str(index))
        result = await self._follow(str(index), path, report)
        self._mine.discard(str(index))
        return result

    async def _follow(self, index: str, path: str, report: Report) -> ScriptRun:
        last, reported = "", 0.0
        while True:
            await self._core.clock.sleep(POLL)
            world = self._core.look()
            script = world.doc["scripts"][index]
            if script["state"] not in {"RUNNING", "WAITING"}:
                break
            targets = script["targets"]
            if script["state"] == "WAITING":
                line = f"{path} (script {index}) waiting: ScriptQueue {script['queue']} is paused"
            elif targets:
                gone = sum(1 for ref in targets if _reached(world, ref, script["want"].get(ref)))
                line = f"{path} (script {index}) RUNNING: {gone}/{len(targets)} done"
            else:
                line = f"{path} (script {index}) RUNNING"
            if line != last and self._core.now() - reported >= REPORT:
                await report(line)
                last, reported = line, self._core.now()
        queue = script["queue"]
        if script["state"] != "DONE":
            self._mine.discard(index)
            raise IntegrationError(
                "ScriptQueue",
                f"{path} (script {index}) on ScriptQueue {queue} ended {script['state']}: "
                f"{script['message']}",
                host=world.site.fqdn,
                status=script["state"],
            )
        return ScriptRun(queue=queue, script_index=int(index), final_state="DONE")

    async def command(
        self, *, csc: str, index: int, command: str, params: dict[str, Any] | None = None
    ) -> str:
        """A state command to one CSC, acknowledged once the CSC has changed state."""
        del params
        world = await self._enter()
        self._reachable(world)
        ref = f"{csc}:{index}"
        targets = {"enable": SummaryState.ENABLED, "disable": SummaryState.DISABLED,
                   "standby": SummaryState.STANDBY, "start": SummaryState.DISABLED,
                   "exitControl": SummaryState.OFFLINE}  # fmt: skip
        stuck = command == "exitControl" and ref in world.faults("csc-stuck")
        if not world.beating(ref) or stuck:  # nobody answers: the commander times out
            raise IntegrationError(
                self.system, f"cmd_{command} to {ref}: Command time out", host=world.site.fqdn,
                status=504, detail='{"ack": "Command time out"}',
            )  # fmt: skip
        if command == "enterControl":
            _can_enter_control(world, ref)
            targets["enterControl"] = SummaryState.STANDBY
        if command not in targets:
            return "Done"
        now = self._core.now()
        if targets[command] is SummaryState.OFFLINE:
            done = world.send_offline(ref, now, f"cmd:{ref}")
        else:
            done = now + spread(ref + command, 1, 4)
            world.schedule(done, "state", ref, int(targets[command]))
        await self._core.save()
        await self._core.clock.sleep(done - now)  # the final ack comes once it got there
        return "Done"

    async def queue_state(self, queue: int) -> QueueState:
        """Paused after a failed script (which stays current), else running; its scripts."""
        world = await self._enter()
        self._reachable(world)
        listed = tuple(
            QueuedScript(
                index=int(index),
                path=script["path"],
                description=script.get("description", ""),
                state=script["state"],
                place=_place(script["state"]),
            )
            for index, script in world.doc["scripts"].items()
            if script["queue"] == queue
        )
        failed = world.paused().get(str(queue))
        if failed is None:
            running = [s for s in listed if s.place == "current"]
            current = running[0].line() if running else ""
            return QueueState(queue=queue, running=True, current=current, scripts=listed)
        path = world.doc["scripts"][failed]["path"]
        current = f"{path} (script {failed}) FAILED"
        return QueueState(queue=queue, running=False, current=current, scripts=listed)

    async def resume(self, queue: int) -> None:
        """The failed script leaves the queue; the scripts waiting behind it start in order."""
        world = await self._enter()
        self._reachable(world)
        self._queue_ready(world, queue)
        world.paused().pop(str(queue), None)
        start = self._core.now() + 1
        for index, script in world.doc["scripts"].items():
            if script["queue"] == queue and script["state"] == "WAITING":
                script["state"] = "RUNNING"
                start = _play(world, index, script["path"], script.pop("config"), start)
        await self._core.save()

    async def cancel(self) -> None:
        """``cmd_stopScripts`` on every script this client queued: their effects stop too."""
        self._release_held()
        world = self._core.look()
        for index in list(self._mine):
            world.drop(f"script:{index}")
            script = world.doc["scripts"][index]
            if script["state"] == "RUNNING":
                script.update(state="STOPPED", message="stopped by the user (cmd_stopScripts)")
            elif script["state"] == "WAITING":
                script.update(state="TERMINATED", message="removed from the queue")
        self._mine.clear()
        await self._core.save()


def _place(state: str) -> str:
    """Where LOVE lists a script in this state."""
    return {"RUNNING": "current", "WAITING": "waiting"}.get(state, "finished")


def _can_enter_control(world: World, ref: str) -> None:
    """``enterControl`` is taken in OFFLINE only, by a camera only once AVAILABLE.

    Refused, the CSC's ack is CMD_FAILED and LOVE-commander answers it with a 500 it does not
    catch (``commands.py`` handles only ``AckTimeoutError``).
    """
    csc = world.doc["cscs"][ref]
    state = world.state(ref)
    available = csc.get("offline") == int(OfflineDetailedState.AVAILABLE)
    if state is SummaryState.OFFLINE and (available or "offline" not in csc):
        return
    why = f"in {state.name if state else 'no state'}"
    if state is SummaryState.OFFLINE:
        why += ", not available (CCS: setAvailable first)"
    raise IntegrationError(
        "LOVE",
        f"cmd_enterControl to {ref} failed: 500 Internal Server Error ({ref} is {why})",
        host=world.site.fqdn,
        status=500,
    )


def _config_problem(path: str, config: str) -> str | None:
    """The script's schema check: a mapping with its required keys and nothing unknown."""
    try:
        data = yaml.safe_load(config)
    except yaml.YAMLError as e:
        return f"configuration is not YAML: {e}"
    if path not in _KEYS:
        return None
    if not isinstance(data, dict):
        return "configuration must be a mapping"
    required, optional = _KEYS[path]
    if missing := sorted(required - set(data)):
        return f"'{missing[0]}' is a required property"
    if unknown := sorted(set(data) - required - optional):
        return f"Additional properties are not allowed ('{unknown[0]}' was unexpected)"
    return _data_problem(data["data"]) if path == "set_summary_state.py" else None


def _data_problem(data: list[Any]) -> str | None:
    """set_summary_state.py's ``data``: at least one ``[CSC[:index], STATE]``."""
    if not data:
        return "data: [] should be non-empty"
    for entry in data:
        if len(entry) < 2 or str(entry[1]).upper() not in _SETTABLE:  # noqa: PLR2004
            return f"data: {entry!r}: state must be one of {', '.join(sorted(_SETTABLE))}"
    return None


def _play(world: World, index: str, path: str, config: str, start: float) -> float:
    """Schedule what the script does from ``start``; when it ends."""
    if path == "system_wide_shutdown.py":
        return _shutdown(world, index, yaml.safe_load(config), start)
    if path == "set_summary_state.py":
        return _set_states(world, index, yaml.safe_load(config), start)
    end = start + OTHER_SCRIPT
    world.schedule(end, "script", index, {"state": "DONE"}, f"script:{index}")
    return end


def _reached(world: World, ref: str, want: int | None) -> bool:
    if want is None or want == SummaryState.OFFLINE:
        return not world.beating(ref) or world.state(ref) is SummaryState.OFFLINE
    return world.beating(ref) and world.state(ref) == want


def _shutdown(world: World, index: str, config: dict[str, Any], start: float) -> float:
    tag = f"script:{index}"
    ignore = set(config.get("ignore", []))
    running = [ref for ref, spec in world.specs.items()
               if world.beating(ref) and spec.name not in ignore and spec.name != "ScriptQueue"
               and world.state(ref) is not SummaryState.OFFLINE]  # fmt: skip
    first, last = config.get("start_with", []), config.get("end_with", [])

    def rank(ref: str) -> int:
        name = ref.partition(":")[0]
        return 0 if name in first else 2 if name in last else 1

    order = sorted(running, key=rank)
    stuck = world.faults("csc-stuck")
    at = start
    failed = 0
    for ref in order:
        if ref in stuck:
            at += STUCK_TIMEOUT
            failed += 1
        else:
            at = world.send_offline(ref, at, tag)
    script = world.doc["scripts"][index]
    script.update(targets=order, want={})
    if failed:
        message = f"A total of {failed} components failed to transition to offline."
        end = {"state": "FAILED", "message": message}
    else:
        end = {"state": "DONE"}
    world.schedule(at + 1, "script", index, end, tag)
    return at + 1


def _set_states(world: World, index: str, config: dict[str, Any], start: float) -> float:
    tag = f"script:{index}"
    at = start
    targets: list[str] = []
    want: dict[str, int] = {}
    end: dict[str, str] = {"state": "DONE"}
    for entry in config["data"]:
        name, _, which = str(entry[0]).partition(":")
        state = SummaryState[str(entry[1]).upper()]
        if which == "*":
            refs = [r for r, s in world.specs.items() if s.name == name and world.beating(r)]
        else:
            refs = [f"{name}:{which or 0}"]
        for ref in refs:
            targets.append(ref)
            want[ref] = int(state)
            at, problem = _set_one(world, ref, state, at, tag)
            if problem:
                end = {"state": "FAILED", "message": problem}
                break
        if end["state"] == "FAILED":
            break
    world.doc["scripts"][index].update(targets=targets, want=want)
    world.schedule(at + 1, "script", index, end, tag)
    return at + 1


def _set_one(
    world: World, ref: str, state: SummaryState, at: float, tag: str
) -> tuple[float, str | None]:
    """Schedule one CSC's transitions; (when done, the failure if it cannot get there)."""
    if ref not in world.doc["cscs"] or not world.beating(ref):
        if state is SummaryState.OFFLINE:
            return at + 1, None  # already gone: the script notes it and moves on
        return at + STUCK_TIMEOUT, f"{ref} did not respond: no heartbeat in {STUCK_TIMEOUT:.0f}s"
    if state is SummaryState.OFFLINE:
        if ref in world.faults("csc-stuck"):
            return (
                at + STUCK_TIMEOUT,
                f"{ref} failed to transition to OFFLINE: exitControl timed out",
            )
        return world.send_offline(ref, at, tag), None
    if ref in world.faults("csc-fault"):
        return at + 5, f"{ref} is in FAULT: went back to FAULT after standby"
    current = world.state(ref)
    here = _ORDER.index(current) if current in _ORDER else -1  # FAULT: out through STANDBY
    goal = _ORDER.index(state)
    path = _ORDER[here + 1 : goal + 1] if goal >= here else _ORDER[goal:here][::-1]
    for step in path:
        at += spread(ref + step.name, 1.5, 4.0)
        world.schedule(at, "state", ref, int(step), tag)
    return at, None
