"""The :class:`Love` interface and the data types it answers with (ts_xml names and enums)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from integrations.base import Integration, Report


class ScriptProcessState(IntEnum):
    """ts_xml ``ScriptProcessState``: where a queued script's process is."""

    UNKNOWN = 0
    LOADING = 1
    CONFIGURED = 2
    RUNNING = 3
    DONE = 4
    LOADFAILED = 5
    CONFIGURE_FAILED = 6
    TERMINATED = 7


@dataclass(frozen=True, slots=True)
class ScriptRun:
    """How a script ended in the queue."""

    queue: int
    script_index: int
    final_state: str
    """The script's final ScriptState name (DONE, FAILED, STOPPED...)."""
    message: str = ""


@dataclass(frozen=True, slots=True)
class QueuedScript:
    """One script a ScriptQueue lists (LOVE's ``scriptsStream`` entry)."""

    index: int
    path: str
    description: str
    state: str
    """As LOVE shows it: its ScriptState (RUNNING, DONE, FAILED...), else its process state."""
    place: str
    """``current``, ``waiting`` or ``finished``."""

    @property
    def unfinished(self) -> bool:
        """Waiting or running: it will still do something."""
        return self.place in {"current", "waiting"} and self.state not in _ENDED_STATES

    def line(self) -> str:
        """``system_wide_shutdown.py (script 100002) RUNNING``."""
        return f"{self.path} (script {self.index}) {self.state}"


_ENDED_STATES = frozenset(
    {"DONE", "FAILED", "STOPPED", "TERMINATED", "LOADFAILED", "CONFIGURE_FAILED"}
)


@dataclass(frozen=True, slots=True)
class QueueState:
    """A ScriptQueue as LOVE shows it: running or paused, its current script, what it lists."""

    queue: int
    running: bool | None
    """False: paused (after a failed script, or by someone); None: LOVE did not say."""
    current: str = ""
    """The current script, as ``path (script N) STATE``; empty when there is none."""
    scripts: tuple[QueuedScript, ...] = ()
    """Every script the queue lists: current, waiting, and its recent history."""

    def line(self) -> str:
        """One line for the lead: ``ScriptQueue 1 is paused; current: ... FAILED``."""
        what = {True: "running", False: "paused", None: "in an unknown state"}[self.running]
        current = f"; current: {self.current}" if self.current else ""
        return f"ScriptQueue {self.queue} is {what}{current}"

    def copy_of(self, description: str) -> QueuedScript | None:
        """The newest unfinished script queued with this description (a copy already there)."""
        found = [s for s in self.scripts if s.description == description and s.unfinished]
        return max(found, key=lambda s: s.index) if found else None


class Love(Integration, Protocol):
    """The LOVE manager of one site, and through it its ScriptQueues and CSCs."""

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
        """Add a script at the end of ScriptQueue ``queue`` and wait until it ends.

        Returns when it ended DONE; raises :class:`IntegrationError` with the script's own
        message when it failed, was stopped, or could not be queued.
        """
        ...

    async def command(
        self, *, csc: str, index: int, command: str, params: dict[str, Any] | None = None
    ) -> str:
        """Send ``cmd_<command>`` to ``csc:index``; return the final ack's text."""
        ...

    async def follow(self, *, queue: int, index: int, path: str, report: Report) -> ScriptRun:
        """Follow a script already in ScriptQueue ``queue`` to its end, as :meth:`run_script`.

        What a Retry does when the first attempt's ``cmd_add`` got no answer but the script
        was queued after all: it is followed, never added a second time.
        """
        ...

    async def queue_state(self, queue: int) -> QueueState:
        """Whether ScriptQueue ``queue`` is running or paused, its current script, its list."""
        ...

    async def resume(self, queue: int) -> None:
        """``cmd_resume`` ScriptQueue ``queue``: it starts its next script again."""
        ...
