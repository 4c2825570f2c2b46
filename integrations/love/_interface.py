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
class QueueState:
    """A ScriptQueue as LOVE shows it: running or paused, and its current script."""

    queue: int
    running: bool | None
    """False: paused (after a failed script, or by someone); None: LOVE did not say."""
    current: str = ""
    """The current script, as ``path (script N) STATE``; empty when there is none."""

    def line(self) -> str:
        """One line for the lead: ``ScriptQueue 1 is paused; current: ... FAILED``."""
        what = {True: "running", False: "paused", None: "in an unknown state"}[self.running]
        current = f"; current: {self.current}" if self.current else ""
        return f"ScriptQueue {self.queue} is {what}{current}"


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

    async def queue_state(self, queue: int) -> QueueState:
        """Whether ScriptQueue ``queue`` is running or paused, and its current script."""
        ...

    async def resume(self, queue: int) -> None:
        """``cmd_resume`` ScriptQueue ``queue``: it starts its next script again."""
        ...
