"""A run in the terminal as it happens, line by line (events as :mod:`bot.reports.events` says).

Times are shown from the run's start, in the run's own clock: on the demo's fast clock a
thirty-minute watch reads as thirty minutes, as it would at the observatory.

In a terminal, a running step's progress is one live line, redrawn in place as it changes
(``rich``'s :class:`~rich.live.Live`, refreshed by hand: no thread of its own), and the
events print above it; when the step ends the live line goes. Not in a terminal (a file, a
pipe, the tests), every progress line is printed as a plain line, so a log keeps them all.
A step that failed or was interrupted is followed by how to do it by hand
(:mod:`bot.engine.by_hand`), since the lead may now do just that.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from bot.engine.by_hand import by_hand, plain
from bot.engine.changes import Change, StepProgress
from bot.reports.events import describe, indent
from bot.reports.timeline import clock_text
from state.events import StepFailed, StepInterrupted
from state.run import StepStatus

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from state.events import Event
    from state.names import Site
    from state.run import Run


@dataclass
class Printer:
    """Prints every change of the runs it is given; one instance per terminal.

    ``live``: progress as one line redrawn in place; by default when ``out`` is a terminal.
    ``sites``: where the runs are, for how to do a failed step by hand (none: not shown).
    """

    out: TextIO = field(default_factory=lambda: sys.stdout)
    live: bool | None = None
    sites: Mapping[Site, SiteConfig] = field(default_factory=dict)
    _last_progress: dict[tuple[str, str], str] = field(default_factory=dict)
    _console: Console | None = None
    _live: Live | None = None

    def __post_init__(self) -> None:
        """Decide once whether this output is a terminal."""
        if self.live is None:
            self.live = self.out.isatty()
        if self.live:
            self._console = Console(
                file=self.out, force_terminal=True, highlight=False, markup=False, emoji=False
            )

    async def __call__(self, change: Change) -> None:
        """The engine's listener."""
        if isinstance(change, StepProgress):
            key = (change.run.run_id, change.step_id)
            if self._last_progress.get(key) != change.text:
                self._last_progress[key] = change.text
                self._progress(change.run, change.step_id, change.text)
            return
        for event in change.events:
            text = describe(change.run, event, seen=False)  # the notice printed shows it
            if text:
                self._line(change.run, event.at, text + self._by_hand(change.run, event))

    def _progress(self, run: Run, step_id: str, text: str) -> None:
        """A running step's one-line progress redrawn in place; anything else printed."""
        state = run.step(step_id)
        running = state is not None and state.status is StepStatus.RUNNING
        if self._console is None or not running or "\n" in text:
            self._line(run, None, indent(text, "    … "))
            return
        line = Text(f"[{' ' * 8}]     … {text}", no_wrap=True, overflow="ellipsis")
        if self._live is None:
            self._live = Live(
                line,
                console=self._console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(line, refresh=True)

    def _line(self, run: Run, at: datetime | None, text: str) -> None:
        stamp = clock_text((at - run.started_at).total_seconds()) if at else " " * 8
        if self._console is None:
            self.out.write(f"[{stamp:>8}] {text}\n")
            self.out.flush()
            return
        if self._live is not None and at is not None:  # an event: the live line has had its say
            self._live.stop()
            self._live = None
        self._console.print(Text(f"[{stamp:>8}] {text}"), soft_wrap=True)

    def _by_hand(self, run: Run, event: Event) -> str:
        """After a failed or interrupted step: how to do it by hand, if the site is known."""
        site = self.sites.get(run.site)
        if site is None or not isinstance(event, StepFailed | StepInterrupted):
            return ""
        if isinstance(event, StepFailed) and event.cancelled:
            return ""
        state = run.step(event.step_id)
        hand = by_hand(run, state, site) if state is not None else None
        return "" if hand is None else "\n" + " " * 11 + indent(plain(hand), " " * 4)
