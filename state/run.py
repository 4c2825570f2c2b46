"""A run of the procedure at one site: its steps, their statuses and attempts.

A :class:`Run` is a snapshot: it is never edited in place, only rebuilt by folding events
(:func:`state.machine.evolve`), so what is stored can always be replayed from the events.
Live progress ("41/57 CSCs OFFLINE") is deliberately *not* part of it: it changes every few
seconds, is kept beside the snapshot by the store, and is not history.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from state.names import Phase, RunKind, Site
from state.procedure import Step


class StepStatus(StrEnum):
    """Where a step stands. See the table "The life of a run" in DESIGN.md."""

    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    OVERDUE = "overdue"
    """Running past its expected time: the lead was told and chooses; nothing was stopped."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DONE_WITH_ISSUES = "done_with_issues"
    DONE_BY_HAND = "done_by_hand"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"

    @property
    def ended(self) -> bool:
        """The step is behind the run: succeeded, done (with issues or by hand) or skipped."""
        return self in _ENDED

    @property
    def active(self) -> bool:
        """Its action is executing: running, or overdue (still running, the lead deciding)."""
        return self in {StepStatus.RUNNING, StepStatus.OVERDUE}

    @property
    def waits_for_lead(self) -> bool:
        """Nothing moves until the lead decides (approve, retry, mark done or skip)."""
        return self in {StepStatus.AWAITING_APPROVAL, StepStatus.FAILED, StepStatus.INTERRUPTED}


_ENDED = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.DONE_WITH_ISSUES, StepStatus.DONE_BY_HAND, StepStatus.SKIPPED}
)


class RunStatus(StrEnum):
    """A run is active (or paused) until its last step ends or the lead aborts it."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"

    @property
    def open(self) -> bool:
        """Active or paused: the site's one open run."""
        return self in {RunStatus.ACTIVE, RunStatus.PAUSED}


class StepState(BaseModel):
    """One step of a run: its definition, where it stands, and the current attempt."""

    model_config = ConfigDict(frozen=True)

    step: Step
    status: StepStatus = StepStatus.PENDING
    attempt: int = Field(default=0, description="Attempts started so far.")
    revision: int = Field(default=0, description="Transitions of this step so far.")
    history: tuple[str, ...] = Field(
        default=(),
        description="The verb of each transition by revision: tells a repeat from a stale command.",
    )
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    timeout_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = None
    overdue_at: AwareDatetime | None = Field(
        default=None,
        description="When a patient step becomes overdue (the lead chooses), unless it ended.",
    )
    overdue: int = Field(default=0, description="Times this attempt went past its expected time.")
    approved_by: str | None = None
    ended_by: str | None = None
    outcome: str | None = Field(default=None, description="The result, or the real error.")
    issues: tuple[str, ...] = Field(default=(), description="What was still in trouble.")
    offline_up: tuple[str, ...] = Field(
        default=(), description="CSCs a watch found beating in OFFLINE (the page allows it)."
    )
    camera_team: tuple[str, ...] = Field(
        default=(), description="The camera team's CSCs not up yet when a watch ended (Stage 2)."
    )
    reason: str | None = Field(default=None, description="Why it was skipped or done by hand.")
    cancelled: bool = False
    timed_out: bool = False
    since: AwareDatetime | None = Field(
        default=None, description="When the step last changed status (how long it has waited)."
    )
    proposed: tuple[str, ...] | None = Field(
        default=None,
        description="A stragglers step's CSCs (Name:index) to send; None until they are read.",
    )

    @property
    def id(self) -> str:
        """The step's id."""
        return self.step.id

    def unproposed(self) -> bool:
        """A stragglers step waiting on the lead whose CSCs are not read yet."""
        return (
            self.step.action.proposes_targets()
            and self.proposed is None
            and self.status.waits_for_lead
        )

    def expected_end(self) -> datetime | None:
        """When a running patient step becomes overdue; ``None`` for any other.

        A sync started before patience existed has a ``timeout_at`` instead: it becomes
        overdue then, and is never stopped by the bot either.
        """
        if self.status is not StepStatus.RUNNING or not self.step.action.patient():
            return None
        return self.overdue_at or self.timeout_at


class Note(BaseModel):
    """A note the lead added to the run's record."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime
    by: str
    text: str
    step_id: str | None = None


class Run(BaseModel):
    """The snapshot of one run of one site."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    site: Site
    kind: RunKind
    lead: str
    started_by: str
    cycle: str | None = None
    phalanx_branch: str | None = None
    procedure: str
    rehearsal: bool = Field(
        default=False, description="A rehearsal's run: only a rehearsal bot resumes it."
    )
    status: RunStatus = RunStatus.ACTIVE
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    abort_reason: str | None = None
    steps: tuple[StepState, ...]
    notes: tuple[Note, ...] = ()
    announced: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="Announcement keys made, so each is made once."
    )
    held: dict[str, AwareDatetime] = Field(
        default_factory=dict,
        description="Announcements the lead held back (integration testing), until when.",
    )
    acknowledged: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Per announcement key, who acknowledged it, in order."
    )
    baseline: tuple[str, ...] | None = Field(
        default=None, description="CSCs (Name:index) heartbeating when the run started."
    )
    waived: dict[str, str] = Field(
        default_factory=dict,
        description="Steps the page requires that this run's procedure left out, and why.",
    )
    left_up: tuple[str, ...] = Field(
        default=(), description="CSCs the lead decided to go on with still up (Name:index)."
    )
    version: int = Field(default=0, description="Events applied; the store's optimistic lock.")
    changed_at: AwareDatetime | None = Field(
        default=None, description="When the last event happened (how long the run has been idle)."
    )
    names: dict[str, str] = Field(
        default_factory=dict,
        description="User id -> name, as the requests that made them lead or actor carried it.",
    )

    def name(self, user: str) -> str:
        """How to show a person: their name if a request carried it, else their id."""
        return self.names.get(user, user)

    def step(self, step_id: str) -> StepState | None:
        """The step with this id, if the run has it."""
        return next((s for s in self.steps if s.id == step_id), None)

    def index(self, step_id: str) -> int:
        """The position of a step the run has."""
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)

    @property
    def current(self) -> StepState | None:
        """The first step not yet ended: the one the run is at (None when all ended)."""
        return next((s for s in self.steps if not s.status.ended), None)

    @property
    def phase(self) -> Phase | None:
        """The phase of the current step."""
        current = self.current
        return current.step.phase if current else None

    @property
    def running(self) -> StepState | None:
        """The step whose action is executing (running or overdue), if any."""
        return next((s for s in self.steps if s.status.active), None)

    def counts(self) -> dict[StepStatus, int]:
        """How many steps are in each status, for a run at a glance."""
        counts = dict.fromkeys(StepStatus, 0)
        for s in self.steps:
            counts[s.status] += 1
        return counts

    def elapsed(self, now: datetime) -> float:
        """Seconds from start to end (or to ``now`` while open)."""
        return ((self.ended_at or now) - self.started_at).total_seconds()
