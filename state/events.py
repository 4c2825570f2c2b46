"""Everything that happened to a run, as events: the audit log and the source of every snapshot.

Each event names its ``type``, the schema version ``v`` of its body (old events are upgraded
on load when a body changes, never rewritten), when it happened and who did it (``bot`` for
the bot's own doing). :func:`state.machine.evolve` folds them into a :class:`state.run.Run`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from state.names import RunKind, Site
from state.procedure import Step

BOT = "bot"
"""The actor of the bot's own events (action outcomes, activation of the next step)."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: int = Field(default=1, description="Schema version of this event's body.")
    at: AwareDatetime
    actor: str
    actor_name: str | None = Field(
        default=None,
        description="The actor's name as Slack sent it with the request (absent in events "
        "stored before names were kept, and for the bot).",
    )


class _StepEvent(_Event):
    step_id: str


class RunStarted(_Event):
    """A run was opened; it records the steps resolved for its site and kind."""

    type: Literal["run.started"] = "run.started"
    run_id: str
    site: Site
    kind: RunKind
    cycle: str | None = None
    phalanx_branch: str | None = None
    procedure: str
    steps: tuple[Step, ...]
    waived: dict[str, str] = Field(
        default_factory=dict, description="Required steps the procedure leaves out, and why."
    )
    rehearsal: bool = Field(
        default=False, description="Against the simulated observatory (demo, run --simulate)."
    )


class StepAwaitingApproval(_StepEvent):
    """The step became current and waits for the lead's approval."""

    type: Literal["step.awaiting_approval"] = "step.awaiting_approval"


class StepStarted(_StepEvent):
    """An attempt of the step started (approved by the lead, or needing no approval)."""

    type: Literal["step.started"] = "step.started"
    attempt: int
    verb: Literal["activate", "approve", "retry"]
    timeout_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = None
    overdue_at: AwareDatetime | None = None
    """A patient action's expected end: past it the lead chooses (none in older runs)."""


class _WatchEnd(_StepEvent):
    """How a watch ended: besides the summary, who it found up in OFFLINE or not yet theirs."""

    offline_up: tuple[str, ...] = ()
    """CSCs beating in OFFLINE: where the page allows them to end, but named."""
    camera_team: tuple[str, ...] = ()
    """The camera team's CSCs, not up yet (Stage 2 of a cycle upgrade): not in trouble."""


class StepSucceeded(_WatchEnd):
    """The attempt's action succeeded."""

    type: Literal["step.succeeded"] = "step.succeeded"
    attempt: int
    summary: str = ""


class StepFailed(_StepEvent):
    """The attempt failed, timed out, or was cancelled (by the lead, or by an abort)."""

    type: Literal["step.failed"] = "step.failed"
    attempt: int
    error: str
    cancelled: bool = False
    timed_out: bool = False


class StepDoneWithIssues(_WatchEnd):
    """The step ended with these still in trouble (``summary`` says how; empty: a deadline).

    A watch at its deadline, a shutdown script that left CSCs up.
    """

    type: Literal["step.done_with_issues"] = "step.done_with_issues"
    attempt: int
    issues: tuple[str, ...]
    summary: str = ""


class TargetsProposed(_StepEvent):
    """The CSCs a stragglers step will send, read by the bot or edited by the lead."""

    type: Literal["step.targets_proposed"] = "step.targets_proposed"
    targets: tuple[str, ...]


class CscsLeftUp(_StepEvent):
    """The lead went on with these CSCs still up (the step ends with them named)."""

    type: Literal["step.left_up"] = "step.left_up"
    attempt: int
    cscs: tuple[str, ...]


class StepOverdue(_StepEvent):
    """A patient step went past its expected time: the lead is told and chooses.

    Nothing is stopped. ``seen`` is what the step's system looked like then (each app's pods,
    the pull request), kept so the record says what the lead decided on.
    """

    type: Literal["step.overdue"] = "step.overdue"
    attempt: int
    seen: str = ""


class StepWaitExtended(_StepEvent):
    """The lead keeps waiting for an overdue step: another expected period, to ``overdue_at``."""

    type: Literal["step.keep_waiting"] = "step.keep_waiting"
    attempt: int
    overdue_at: AwareDatetime


class StepDoneByHand(_StepEvent):
    """The lead marked the step done (a manual step, or work done by hand)."""

    type: Literal["step.done_by_hand"] = "step.done_by_hand"
    attempt: int
    note: str | None = None


class StepSkipped(_StepEvent):
    """The lead skipped the step, saying why."""

    type: Literal["step.skipped"] = "step.skipped"
    reason: str


class StepInterrupted(_StepEvent):
    """The attempt ended with no outcome known: the bot stopped while it ran.

    Found running at start-up (the process had died under it), or cut off by a bot that
    stopped gracefully. Never re-run by itself: the lead decides.
    """

    type: Literal["step.interrupted"] = "step.interrupted"
    attempt: int


class StepReopened(_StepEvent):
    """The lead reopened an ended step: it waits for approval to run again."""

    type: Literal["step.reopened"] = "step.reopened"


class RunPausedEvent(_Event):
    """The lead paused the run: no further step starts until resumed."""

    type: Literal["run.paused"] = "run.paused"


class RunResumed(_Event):
    """The lead resumed the run."""

    type: Literal["run.resumed"] = "run.resumed"


class LeadHandedOver(_Event):
    """The lead handed the run over to someone else."""

    type: Literal["run.handed_over"] = "run.handed_over"
    to: str
    to_name: str | None = Field(default=None, description="The new lead's name, if known.")


class RunTakenOver(_Event):
    """An admin took the run over from a lead who is gone."""

    type: Literal["run.taken_over"] = "run.taken_over"
    previous_lead: str
    reason: str


class NoteAdded(_Event):
    """The lead added a note to the record."""

    type: Literal["run.note"] = "run.note"
    text: str
    step_id: str | None = None


class Announced(_Event):
    """An announcement with this key was made (so it is never made twice)."""

    type: Literal["run.announced"] = "run.announced"
    key: str
    step_id: str | None = None


class AnnouncementHeld(_Event):
    """The lead held an announcement back until a time (integration testing goes on)."""

    type: Literal["run.announcement_held"] = "run.announcement_held"
    key: str
    until: AwareDatetime
    step_id: str


class Acknowledged(_Event):
    """Someone (the camera team) acknowledged an announcement: who and when, nothing moves."""

    type: Literal["run.acknowledged"] = "run.acknowledged"
    key: str


class BaselineRecorded(_Event):
    """The CSC instances heartbeating when the run started: the ones expected back at the end."""

    type: Literal["run.baseline"] = "run.baseline"
    cscs: tuple[str, ...]


class RunAborted(_Event):
    """The lead aborted the run, saying why."""

    type: Literal["run.aborted"] = "run.aborted"
    reason: str


class RunCompleted(_Event):
    """The last step ended."""

    type: Literal["run.completed"] = "run.completed"


Event = Annotated[
    RunStarted
    | StepAwaitingApproval
    | StepStarted
    | StepSucceeded
    | StepFailed
    | StepDoneWithIssues
    | TargetsProposed
    | CscsLeftUp
    | StepOverdue
    | StepWaitExtended
    | StepDoneByHand
    | StepSkipped
    | StepInterrupted
    | StepReopened
    | RunPausedEvent
    | RunResumed
    | LeadHandedOver
    | RunTakenOver
    | NoteAdded
    | Announced
    | AnnouncementHeld
    | Acknowledged
    | BaselineRecorded
    | RunAborted
    | RunCompleted,
    Field(discriminator="type"),
]
"""Any event."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
"""Parses a stored event body (JSON) back into its event."""
