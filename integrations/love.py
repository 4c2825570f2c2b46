"""LOVE and the ScriptQueue: queue standard scripts, follow them, send CSC commands.

The interface follows the LOVE manager REST API (lsst-ts/LOVE-manager ``manager/api``):
``POST /love/manager/api/cmd/`` with ``{"csc", "salindex", "cmd", "params"}``, the commander's
ack as the result; scripts are added to a ScriptQueue with ``cmd_add`` (``isStandard``,
``path``, ``config`` as YAML text, ``descr``, ``location``...) and stopped with
``cmd_stopScripts`` (``salIndices``, ``length``, ``terminate``).
"""

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
