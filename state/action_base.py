"""What every action type of a procedure step shares: the systems it may touch, its rule facts.

The action types themselves are in :mod:`state.actions` (and the camera start-up's in
:mod:`state.camera_actions`); here are their bases: :class:`BaseAction` (the facts the page's
rules read), :class:`Automated` (the bot runs it; past its timeout it is stopped and failed) and
:class:`Patient` (the bot runs it, but it waits on something it must not stop by itself: past
its expected time the lead is told and chooses).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from state.duration import Duration

System = Literal[
    "love",
    "efd",
    "camera-bridges",
    "bare-metal",
    "ess-controllers",
    "kubernetes",
    "nublado",
    "github",
    "argocd",
    "slack",
]
"""The outside systems a step may touch."""

SUMMIT_ONLY_SYSTEMS: frozenset[System] = frozenset({"bare-metal", "ess-controllers"})
"""Systems that exist at the summit only (the page marks their steps "Summit only")."""

SLUG = r"^[a-z0-9][a-z0-9-]*$"


class BaseAction(BaseModel):
    """Common base: strict (unknown keys are mistakes), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    changes: ClassVar[bool] = False
    systems: ClassVar[tuple[System, ...]] = ()

    def changes_observatory(self) -> bool:
        """Whether running it changes something real (so the lead must approve it first)."""
        return self.changes

    def touches(self) -> tuple[System, ...]:
        """The systems this action touches, for display and for the summit-only rule."""
        return self.systems

    def sends_offline(self) -> bool:
        """Whether running this action sends CSCs to OFFLINE (for the page's ordering rules)."""
        return False

    def survives_restart(self) -> bool:
        """Whether a restarted bot picks it up again by itself: only a watch, which only reads."""
        return False

    def starts_cscs(self) -> bool:
        """Whether it brings CSCs back (the end of the downtime, when none should beat)."""
        return False

    def is_scriptqueue_shutdown(self) -> bool:
        """Whether this is the step that takes the ScriptQueues OFFLINE (the page: last)."""
        return False

    def changes_csc_states(self) -> bool:
        """Whether this action commands CSC summary states at all."""
        return False

    def proposes_targets(self) -> bool:
        """Whether its targets are the stragglers, read and proposed before the lead decides."""
        return False

    def patient(self) -> bool:
        """Whether the lead chooses past its expected time (:class:`Patient`); else it times out."""
        return False


class Automated(BaseAction):
    """An action the bot runs itself; it has a timeout after which it is stopped and failed."""

    timeout: Duration = Field(description="Stop and fail the step if it runs longer than this.")


class Patient(BaseAction):
    """An action that waits on what the bot must not stop by itself: it is never timed out.

    The page: "be patient with container pulling (goes for everything containerized here)".
    An ArgoCD sync waits on image pulls, the Phalanx pull request on people, the camera
    bridges on a person at the mcm host. Past ``expected`` the step becomes *overdue*: the
    lead is told what the system looks like now and chooses to keep waiting (another
    ``expected``), cancel (the operation is stopped, behind a confirm) or mark it done (with a
    note). ``timeout`` is read as ``expected``: procedure files and runs stored before patience
    existed still load.
    """

    expected: Duration = Field(
        description="How long it usually takes; past it the lead is told and chooses "
        "(keep waiting, cancel, mark done). The bot never stops it by itself.",
    )

    @model_validator(mode="before")
    @classmethod
    def _timeout_is_expected(cls, data: Any) -> Any:  # noqa: ANN401  # pydantic's raw input
        """``timeout`` of a file or a run written before patience: its expected time."""
        if isinstance(data, dict) and "timeout" in data and "expected" not in data:
            data = {**data, "expected": data["timeout"]}
            del data["timeout"]
        return data

    def patient(self) -> bool:
        """Past its expected time, the lead chooses."""
        return True
