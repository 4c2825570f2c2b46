"""What the engine tells its subscribers (the front ends): a run changed, a step said something.

Apart from the engine so that a front end names what it receives without the engine's imports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from state.events import Event
from state.run import Run


@dataclass(frozen=True, slots=True)
class RunChanged:
    """The run changed: these events were stored (the snapshot is ``run``)."""

    run: Run
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class StepProgress:
    """A step reported progress, or its preview is ready (``attempt`` 0 before its first run)."""

    run: Run
    step_id: str
    attempt: int
    text: str


Change = RunChanged | StepProgress
Listener = Callable[[Change], Awaitable[None]]
