"""Hosts over SSH: ``sudo systemctl stop|start <unit>`` and ``systemctl is-active`` to confirm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from integrations.base import Integration, Report


@dataclass(frozen=True, slots=True)
class Unit:
    """A systemd unit on a host (a camera bridge on an mcm machine, a bare-metal service)."""

    host: str
    unit: str

    def __str__(self) -> str:
        """``auxtel-mcm.cp.lsst.org:ats-ocs-bridge.service``."""
        return f"{self.host}:{self.unit}"


@dataclass(frozen=True, slots=True)
class UnitResult:
    """The unit's state after the command (``systemctl is-active``)."""

    unit: Unit
    active: str
    """``active``, ``inactive``, ``failed``..."""
    error: str | None = None
    """The command's error (exit code, stderr tail) if it failed."""


class Hosts(Integration, Protocol):
    """The site's hosts reached over SSH (host keys verified)."""

    async def systemctl(
        self, verb: Literal["stop", "start"], units: Sequence[Unit], report: Report
    ) -> list[UnitResult]:
        """Stop or start each unit (hosts in parallel) and return each one's state after."""
        ...
