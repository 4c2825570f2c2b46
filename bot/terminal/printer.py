"""A run in the terminal as it happens, line by line (events as :mod:`bot.reports.events` says).

Times are shown from the run's start, in the run's own clock: on the demo's fast clock a
thirty-minute watch reads as thirty minutes, as it would at the observatory.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from bot.engine.engine import Change, StepProgress
from bot.reports.events import describe, indent
from bot.reports.timeline import clock_text

if TYPE_CHECKING:
    from state.run import Run


@dataclass
class Printer:
    """Prints every change of the runs it is given; one instance per terminal."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    _last_progress: dict[tuple[str, str], str] = field(default_factory=dict)

    async def __call__(self, change: Change) -> None:
        """The engine's listener."""
        if isinstance(change, StepProgress):
            key = (change.run.run_id, change.step_id)
            if self._last_progress.get(key) != change.text:
                self._last_progress[key] = change.text
                self._line(change.run, None, indent(change.text, "    … "))
            return
        for event in change.events:
            text = describe(change.run, event, seen=False)  # the notice printed shows it
            if text:
                self._line(change.run, event.at, text)

    def _line(self, run: Run, at: datetime | None, text: str) -> None:
        stamp = clock_text((at - run.started_at).total_seconds()) if at else " " * 8
        self.out.write(f"[{stamp:>8}] {text}\n")
        self.out.flush()
