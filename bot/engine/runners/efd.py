"""Judge the CSCs from the EFD: who is OFFLINE, who is where they should be, who is in trouble.

The rules of the page: a silent CSC is OFFLINE whatever its last summaryState says; a beating
CSC reporting OFFLINE is OFFLINE too. Silence proves nothing while the EFD itself is stale.
The CSCs that matter are those beating when the run started (its baseline); the site's ignore
list is left alone; the ScriptQueues come down in their own, later step.

At the end (the page: "completed when either all CSCs are in STANDBY/OFFLINE or CSCs with
issues cannot be fixed in a reasonable (~30 minutes) amount of time"), a CSC is where it should
be beating in STANDBY, or in OFFLINE while beating (named, since it is up but not commandable
until ``enterControl``); the site's auto-enabled CSCs (the ScriptQueues among them) ENABLED.
In trouble: FAULT, silent, or beating in another state. From a cycle upgrade's Stage 2
announcement on, the camera CSCs are the camera team's until they come up: not up yet, they
are waiting on the camera team, apart from the trouble.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.engine.runners.cameras import camera_team
from bot.engine.runners.context import Outcome, StepContext
from integrations.efd import NOT_CSCS, CscState, SiteStates, SummaryState
from integrations.errors import IntegrationError
from state.actions import EfdWaitForStates
from state.duration import human_duration


@dataclass(frozen=True, slots=True)
class Verdict:
    """One reading of the watch: how many are where they should be, and who is not."""

    expected: int
    good: int
    trouble: tuple[str, ...]
    line: str
    found: tuple[tuple[str, CscState | None], ...] = ()
    """The CSCs in trouble as read (``Name:index``, what the EFD holds), for the report."""
    known: bool = True
    """False when the EFD could not be read or is stale: who is where is unknown."""
    offline_up: tuple[str, ...] = ()
    """End states: the CSCs beating in OFFLINE (where the page allows them to end)."""
    camera_team: tuple[str, ...] = ()
    """End states: the camera team's CSCs, not up yet (theirs, not in trouble)."""


def _name(ref: str) -> str:
    return ref.partition(":")[0]


def watched(baseline: Iterable[str], ignore: Iterable[str]) -> list[str]:
    """The CSCs of a baseline the bot watches: not the site's ignored ones, never a Script.

    A baseline recorded before Scripts were set apart may still name some; they are no CSCs.
    """
    left = set(ignore) | NOT_CSCS
    return [ref for ref in baseline if _name(ref) not in left]


def _known(ctx: StepContext, states: SiteStates) -> tuple[str, ...]:
    """The run's baseline (the CSCs beating when it began), else every CSC the EFD knows."""
    return ctx.run.baseline if ctx.run.baseline is not None else tuple(states.cscs)


def _targets(ctx: StepContext, states: SiteStates, *, shutdown: bool) -> list[str]:
    """The CSC instances the watch judges."""
    refs = watched(_known(ctx, states), ctx.site.ignore)
    if shutdown:  # the ScriptQueues come down last, in their own step
        refs = [ref for ref in refs if _name(ref) != "ScriptQueue"]
    return sorted(refs)


def _ignored(ctx: StepContext, states: SiteStates) -> list[str]:
    """The CSCs that were up and the site leaves as they are (its ``ignore``)."""
    return [ref for ref in _known(ctx, states) if _name(ref) in ctx.site.ignore]


def _left_alone(ctx: StepContext, states: SiteStates, refs: list[str]) -> str:
    """What the count leaves out, so that it adds up to the CSCs there were: ``; 2 ignored``."""
    ignored = _ignored(ctx, states)
    queues = [r for r in watched(_known(ctx, states), ctx.site.ignore) if r not in refs]
    parts = [f"{len(ignored)} ignored (left as they are)"] if ignored else []
    if queues:
        parts.append(f"{len(queues)} ScriptQueues (down last, in their own step)")
    return f"; {', '.join(parts)}" if parts else ""


def _offline(csc: CscState | None) -> bool:
    return csc is None or not csc.alive or csc.summary_state is SummaryState.OFFLINE


def describe(ref: str, csc: CscState | None, want: SummaryState | None = None) -> str:
    """``ATDome:0 STANDBY, beating``: one CSC as the EFD last saw it (and what was expected)."""
    if csc is None:
        return f"{ref} never seen in the EFD"
    state = csc.summary_state.name if csc.summary_state else "no state"
    if csc.heartbeat_age is None:
        beat = "never beat"
    elif csc.alive:
        beat = "beating"
        if want is not None and csc.summary_state not in {want, SummaryState.FAULT}:
            beat += f" (expected {want.name})"
    else:
        beat = f"silent {human_duration(csc.heartbeat_age)}"
    return f"{ref} {state}, {beat}"


def judge(ctx: StepContext, states: SiteStates, expect: str) -> Verdict:
    """Compare a reading with what the step expects."""
    if not states.fresh:
        said = "EFD is not receiving data: cannot tell"
        return Verdict(0, 0, ("EFD not fresh: cannot tell",), said, known=False)
    if expect == "offline":
        refs = _targets(ctx, states, shutdown=True)
        found = tuple((r, states.cscs.get(r)) for r in refs if not _offline(states.cscs.get(r)))
        trouble = tuple(describe(r, c) for r, c in found)
        good = len(refs) - len(trouble)
        line = f"{good}/{len(refs)} OFFLINE (by heartbeat){_left_alone(ctx, states, refs)}"
        return Verdict(len(refs), good, trouble, line, found)
    return _end_states(ctx, states)


def _end_states(ctx: StepContext, states: SiteStates) -> Verdict:
    """The page's end of the deployment: STANDBY or OFFLINE while beating; auto ENABLED."""
    auto = set(ctx.site.auto_enabled)
    theirs = camera_team(ctx.run, ctx.site)
    refs = _targets(ctx, states, shutdown=False)
    found_list: list[tuple[str, CscState | None]] = []
    offline_up: list[str] = []
    waiting: list[str] = []
    enabled = standby = 0
    for ref in refs:
        csc = states.cscs.get(ref)
        up = csc is not None and csc.alive
        want = SummaryState.ENABLED if ref in auto else SummaryState.STANDBY
        state = csc.summary_state if csc is not None else None
        if not up and ref in theirs:
            waiting.append(ref)
        elif up and state is want:
            enabled += want is SummaryState.ENABLED
            standby += want is SummaryState.STANDBY
        elif up and state is SummaryState.OFFLINE and ref not in auto:
            offline_up.append(ref)
        else:
            found_list.append((ref, csc))
    line = _end_line(ctx, states, refs, standby, enabled, offline_up, waiting, found_list)
    want_of = {r: SummaryState.ENABLED if r in auto else SummaryState.STANDBY for r in refs}
    trouble = tuple(describe(r, c, want_of[r]) for r, c in found_list)
    good = len(refs) - len(found_list) - len(waiting)
    return Verdict(
        len(refs), good, trouble, line, tuple(found_list),
        offline_up=tuple(offline_up), camera_team=tuple(waiting),
    )  # fmt: skip


def _end_line(
    ctx: StepContext,
    states: SiteStates,
    refs: list[str],
    standby: int,
    enabled: int,
    offline_up: list[str],
    waiting: list[str],
    found: list[tuple[str, CscState | None]],
) -> str:
    """``150 CSCs: 140 STANDBY, 5 ENABLED (by themselves), 1 FAULT, 2 not yet; 2 ignored``.

    The counts add up: each watched CSC is in exactly one of them, and the CSCs the site
    ignores are counted apart, so the total is the CSCs beating when the run began.
    """
    fault = sum(1 for _, c in found if c is not None and c.alive and c.summary_state is _FAULT)
    ignored = _ignored(ctx, states)
    counts = [
        (standby, "STANDBY"),
        (enabled, "ENABLED (by themselves)"),
        (len(offline_up), "OFFLINE (beating)"),
        (len(waiting), "waiting on the camera team"),
        (fault, "FAULT"),
        (len(found) - fault, "not yet"),
    ]
    shown = ", ".join(f"{n} {what}" for n, what in counts if n or what == "STANDBY")
    alone = f"; {len(ignored)} ignored (left as they are)" if ignored else ""
    return f"{len(refs) + len(ignored)} CSCs: {shown}{alone}"


_FAULT = SummaryState.FAULT


async def stragglers(ctx: StepContext) -> list[CscState]:
    """The CSCs the shutdown should have taken down that are still running."""
    states = await ctx.systems.efd.states()
    if not states.fresh:
        raise IntegrationError("EFD", "not receiving data: cannot tell which CSCs are still up")
    refs = _targets(ctx, states, shutdown=True)
    return [c for r in refs if (c := states.cscs.get(r)) is not None and not _offline(c)]


async def at_deadline(ctx: StepContext, action: EfdWaitForStates) -> Verdict:
    """Who is not where they should be now (read at the deadline)."""
    try:
        states = await ctx.systems.efd.states()
    except IntegrationError as e:
        said = f"EFD unreachable at the deadline: {e}"
        return Verdict(0, 0, (said,), said, known=False)
    return judge(ctx, states, action.expect)


def _only_known_stuck(ctx: StepContext, verdict: Verdict) -> bool:
    """Every CSC still up was named by an earlier step as one that would not go down.

    The shutdown script gave up on them: waiting out the deadline would change nothing. The
    run goes on to the stragglers step with them.
    """
    stuck = {
        issue.split(" ", 1)[0]
        for state in ctx.run.steps
        if state.id != ctx.state.id and state.status.ended
        for issue in state.issues
    }
    return bool(verdict.found) and {ref for ref, _ in verdict.found} <= stuck


async def wait_for_states(ctx: StepContext, action: EfdWaitForStates) -> Outcome:
    """Poll until every CSC is where it should be; the deadline is the engine's (``tick``)."""
    last = ""
    while True:
        try:
            verdict = judge(ctx, await ctx.systems.efd.states(), action.expect)
        except IntegrationError as e:
            said = f"EFD unreachable, retrying: {e.message}"
            verdict = Verdict(0, 0, (str(e),), said, known=False)
        if verdict.known and not verdict.trouble:  # none to watch is done at once
            return Outcome(
                verdict.line, offline_up=verdict.offline_up, camera_team=verdict.camera_team
            )
        if action.expect == "offline" and verdict.known and _only_known_stuck(ctx, verdict):
            return Outcome(
                f"{verdict.line}: only the CSCs the shutdown could not take down are still up",
                issues=verdict.trouble,
            )
        shown = (
            f"{verdict.line}: {', '.join(verdict.trouble[:5])}" if verdict.trouble else verdict.line
        )
        if len(verdict.trouble) > 5:  # noqa: PLR2004  # a line, not a list
            shown += f" and {len(verdict.trouble) - 5} more"
        if shown != last:
            await ctx.report(shown)
            last = shown
        await ctx.clock.sleep(action.poll.total_seconds())
