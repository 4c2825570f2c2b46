"""The cameras: whose they are at the end of a run, and their start-up in a system restart.

In a cycle upgrade the camera team starts the camera services themselves (Stage 2); from the
announcement that hands the cameras over on, the camera CSCs are theirs until they come up.
In a system restart the deployment team starts them: the bridges (``ssh.systemctl start``),
then the CCS part (``ccs.set_available``: a person on each mcm host, the bot shows the
commands and confirms), then ``enterControl`` (``love.enter_control``) and STANDBY.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.sites import CameraBridge, SiteConfig
from bot.engine.runners.context import Outcome, StepContext
from integrations.efd import CscState, OfflineDetailedState, SummaryState
from integrations.errors import IntegrationError
from state.actions import Announce
from state.camera_actions import CcsSetAvailable, LoveEnterControl
from state.run import Run


def camera_refs(site: SiteConfig) -> tuple[str, ...]:
    """The site's camera CSCs (``ATCamera:0``...), one per OCS bridge."""
    return tuple(f"{bridge.camera}:0" for bridge in site.camera_bridges)


def camera_team(run: Run, site: SiteConfig) -> frozenset[str]:
    """The camera CSCs that are the camera team's now: after the run handed them over."""
    handed = any(
        isinstance(action, Announce) and action.hands_over_cameras and action.key in run.announced
        for action in (state.step.action for state in run.steps)
    )
    return frozenset(camera_refs(site)) if handed else frozenset()


@dataclass(frozen=True, slots=True)
class Camera:
    """One camera as the EFD shows it now: its bridge, its CSC, its OFFLINE substate."""

    bridge: CameraBridge
    csc: CscState | None
    detail: OfflineDetailedState | None

    @property
    def ref(self) -> str:
        """``ATCamera:0``."""
        return f"{self.bridge.camera}:0"

    @property
    def target(self) -> str:
        """The bridge's CCS target (:func:`ccs_target`)."""
        return ccs_target(self.bridge)

    @property
    def up(self) -> bool:
        """Its CSC beats."""
        return self.csc is not None and self.csc.alive

    @property
    def state(self) -> SummaryState | None:
        """Its CSC's summary state, if it beats."""
        return self.csc.summary_state if self.csc is not None and self.up else None

    @property
    def available(self) -> bool:
        """Beating in OFFLINE, AVAILABLE: ready for ``enterControl``."""
        return self.state is SummaryState.OFFLINE and self.detail is OfflineDetailedState.AVAILABLE

    @property
    def in_control(self) -> bool:
        """Past OFFLINE (STANDBY or further): the CCS part and ``enterControl`` are behind it."""
        return self.state in _IN_CONTROL

    def now(self) -> str:
        """``OFFLINE, PUBLISH_ONLY, beating`` / ``no heartbeat``."""
        if not self.up:
            return "no heartbeat yet"
        state = self.state.name if self.state else "no state"
        offline = self.state is SummaryState.OFFLINE and self.detail is not None
        detail = f", {self.detail.name}" if offline and self.detail else ""
        return f"{state}{detail}, beating"

    def commands(self) -> str:
        """The ops docs' CCS commands for this camera, on its mcm host."""
        return (
            f"{self.bridge.camera} on {self.bridge.host}, its CSC now {self.now()}:\n"
            f"  ccs-shell\n  ccs> set target {self.target}\n  ccs> setAvailable --withLock\n"
            "  ccs> exit"
        )


def ccs_target(bridge: CameraBridge) -> str:
    """The bridge's CCS target: its unit's name (``ats-ocs-bridge``)."""
    return bridge.unit.removesuffix(".service")


_IN_CONTROL = frozenset({SummaryState.STANDBY, SummaryState.DISABLED, SummaryState.ENABLED})


async def cameras(ctx: StepContext) -> list[Camera]:
    """Each camera of the site as the EFD shows it now (two reads)."""
    efd = ctx.systems.efd
    states = await efd.states()
    details = await efd.offline_detailed([b.camera for b in ctx.site.camera_bridges])
    return [
        Camera(bridge, states.cscs.get(f"{bridge.camera}:0"), details.get(bridge.camera))
        for bridge in ctx.site.camera_bridges
    ]


def _waiting_text(found: list[Camera]) -> str:
    """How many are available, and the commands for each that is not."""
    waiting = [c for c in found if not (c.available or c.in_control)]
    head = (
        f"{len(found) - len(waiting)}/{len(found)} camera(s) available in CCS; "
        f"waiting for {', '.join(c.bridge.camera for c in waiting)}:"
    )
    return "\n".join([head, *(c.commands() for c in waiting)])


async def live(ctx: StepContext, action: CcsSetAvailable) -> str:
    """Where each camera stands now, for the lead deciding on an overdue CCS stage."""
    del action
    found = await cameras(ctx)
    return "Now in the EFD:\n" + "\n".join(f"{c.ref}: {c.now()}" for c in found)


async def set_available(ctx: StepContext, action: CcsSetAvailable) -> Outcome:
    """Show the CCS commands for each camera; end once each is available (or beyond)."""
    if not ctx.site.camera_bridges:
        return Outcome(f"nothing to do: no camera bridges at {ctx.site.name}")
    last = ""
    while True:
        try:
            found = await cameras(ctx)
        except IntegrationError as e:
            said = f"EFD unreachable, retrying: {e.message}"
        else:
            if all(c.available or c.in_control for c in found):
                return Outcome(
                    f"{len(found)} camera(s) available: "
                    + ", ".join(f"{c.ref} {c.now()}" for c in found)
                )
            said = _waiting_text(found)
        if said != last:
            await ctx.report(said)
            last = said
        await ctx.clock.sleep(action.poll.total_seconds())


async def preview_enter_control(ctx: StepContext, action: LoveEnterControl) -> str:
    """What will be sent, and where each camera stands now (shown while awaiting approval)."""
    del action
    found = await cameras(ctx)
    lines = ["cmd_enterControl through LOVE to each camera CSC once OFFLINE and AVAILABLE:"]
    lines += [f"  {c.ref}: now {c.now()}" for c in found]
    return "\n".join(lines)


async def enter_control(ctx: StepContext, action: LoveEnterControl) -> Outcome:
    """``enterControl`` to each available camera CSC, once; end when all are in STANDBY."""
    if not ctx.site.camera_bridges:
        return Outcome(f"nothing to do: no camera bridges at {ctx.site.name}")
    sent: list[str] = []
    last = ""
    while True:
        found = await cameras(ctx)
        ready = [c for c in found if c.available and c.ref not in sent]
        for camera in ready:
            ack = await ctx.systems.love.command(
                csc=camera.bridge.camera, index=0, command="enterControl"
            )
            sent.append(camera.ref)
            await ctx.report(f"{camera.ref} enterControl: {ack}")
        if ready:
            continue  # read again: the acks came once the CSCs changed state
        faulted = [c.ref for c in found if c.state is SummaryState.FAULT]
        if faulted:
            raise IntegrationError("LOVE", f"{', '.join(faulted)} in FAULT: see the bridge(s)")
        done = [c for c in found if c.in_control]
        if len(done) == len(found):
            who = ", ".join(sent) or "none (all were past OFFLINE)"
            return Outcome(
                f"{len(found)} camera CSC(s) in STANDBY or beyond; enterControl sent to {who}"
            )
        said = f"{len(done)}/{len(found)} in STANDBY; " + "; ".join(
            f"{c.ref} {c.now()}" for c in found if not c.in_control
        )
        if said != last:
            await ctx.report(said)
            last = said
        await ctx.clock.sleep(action.poll.total_seconds())
