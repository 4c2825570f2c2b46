"""Why the state machine refuses a command, in words fit for the person who sent it.

These are user errors: shown briefly and privately (an ephemeral Slack message, a terminal
line), never alarming, never with a traceback. Integration failures are another family
(``integrations.errors``) because they carry a host, a status and the tail of a body.
"""

from __future__ import annotations

from collections.abc import Mapping


class RunError(Exception):
    """A command that cannot be applied; ``str()`` is the message for the user.

    ``people`` maps the user ids the message names to their names: a front end shows each
    id as a mention (Slack) or by name (a form's plain text, the terminal), and no other word.
    """

    def __init__(self, message: str, *, people: Mapping[str, str] | None = None) -> None:
        """The message, and the people it names by id."""
        super().__init__(message)
        self.people: dict[str, str] = dict(people or {})


class NotLead(RunError):
    """Someone other than the lead tried to change the run."""

    def __init__(self, actor: str, lead: str, what: str, lead_name: str | None = None) -> None:
        """Name the lead so the person knows whom to ask."""
        super().__init__(
            f"Only the lead, {lead}, can {what}. Ask them, or ask them to hand over.",
            people={lead: lead_name or lead},
        )
        self.actor = actor
        self.lead = lead


class NotAdmin(RunError):
    """A take-over by someone who is not a configured admin."""

    def __init__(self, actor: str) -> None:
        """Say who may."""
        super().__init__("Only a configured admin can take over a run from its lead.")
        self.actor = actor


class RunAlreadyActive(RunError):
    """A second run for a site that has one open."""

    def __init__(self, site: str, run_id: str, lead: str, lead_name: str | None = None) -> None:
        """Point at the open run and its lead."""
        super().__init__(
            f"{site} already has an open run ({run_id}, led by {lead}).",
            people={lead: lead_name or lead},
        )
        self.site = site
        self.run_id = run_id


class RunNotActive(RunError):
    """A command for a run that has completed or was aborted."""

    def __init__(self, run_id: str, status: str) -> None:
        """Say how it ended."""
        super().__init__(f"Run {run_id} is {status}; nothing can change it any more.")


class RunPaused(RunError):
    """Starting work while the lead has paused the run."""

    def __init__(self, run_id: str) -> None:
        """Say how to go on."""
        super().__init__(f"Run {run_id} is paused. Resume it first.")


class UnknownStep(RunError):
    """A command naming a step the run does not have."""

    def __init__(self, step_id: str) -> None:
        """Name the step."""
        super().__init__(f"This run has no step {step_id!r}.")


class StepNotCurrent(RunError):
    """A command for a step the run is not at."""

    def __init__(self, step_id: str, current: str | None) -> None:
        """Name the step the run is at."""
        at = f"step {current!r}" if current else "its end"
        super().__init__(f"Step {step_id!r} is not the current step; the run is at {at}.")


class StaleCommand(RunError):
    """A button rendered for a state the step has since left (another click got there first)."""

    def __init__(self, step_id: str, status: str, attempt: int) -> None:
        """Say where the step is now."""
        super().__init__(
            f"That button is out of date: step {step_id!r} is now {status.replace('_', ' ')}"
            f" (attempt {attempt})."
        )


class NotAllowedNow(RunError):
    """A command the step's status does not allow (e.g. retrying a step that succeeded)."""

    def __init__(self, step_id: str, what: str, status: str, hint: str = "") -> None:
        """Say what the status allows instead, when there is a hint."""
        message = f"Cannot {what} step {step_id!r}: it is {status.replace('_', ' ')}."
        super().__init__(f"{message} {hint}".strip())


class BadInput(RunError):
    """Missing or malformed input: an empty reason, an overlong note."""
