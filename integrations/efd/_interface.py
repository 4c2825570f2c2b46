"""The :class:`Efd` interface and what it answers: summary states and heartbeat ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from integrations.base import Integration

HEARTBEAT_SILENCE = 10.0
"""Seconds without a heartbeat after which a CSC counts as not running (it beats every 1 s)."""


class SummaryState(IntEnum):
    """ts_xml ``sal_enums.State``."""

    DISABLED = 1
    ENABLED = 2
    FAULT = 3
    OFFLINE = 4
    STANDBY = 5


@dataclass(frozen=True, slots=True)
class CscState:
    """What the EFD last saw of one CSC instance."""

    name: str
    index: int
    summary_state: SummaryState | None
    """The last published summary state (None if never seen)."""
    heartbeat_age: float | None
    """Seconds since its last heartbeat (None if never seen)."""

    @property
    def ref(self) -> str:
        """``Name:index``, as set_summary_state.py takes it."""
        return f"{self.name}:{self.index}"

    @property
    def alive(self) -> bool:
        """Beating: heard from within the silence limit."""
        return self.heartbeat_age is not None and self.heartbeat_age <= HEARTBEAT_SILENCE


@dataclass(frozen=True, slots=True)
class SiteStates:
    """One poll of the EFD for a site."""

    at: datetime
    fresh: bool
    """Data is arriving: without it, silence proves nothing and nobody counts as OFFLINE."""
    cscs: dict[str, CscState]
    """By ``Name:index``."""


class Efd(Integration, Protocol):
    """The EFD of one site (read-only)."""

    async def states(self) -> SiteStates:
        """Every CSC instance's last summary state and heartbeat age, in one round trip."""
        ...
