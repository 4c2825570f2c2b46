"""The :class:`Efd` interface and what it answers: summary states and heartbeat ages.

And, for the camera CSCs, the substate of their OFFLINE (whether their bridge was made
available from CCS).
"""

from __future__ import annotations

from collections.abc import Sequence
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


class OfflineDetailedState(IntEnum):
    """ts_xml's camera enum ``OfflineDetailedState`` (ATCamera, MTCamera, CCCamera).

    A camera CSC comes up OFFLINE in PUBLISH_ONLY when its OCS bridge starts; CCS's
    ``setAvailable`` makes it AVAILABLE, the only substate in which it takes ``enterControl``
    (event ``logevent_offlineDetailedState``, field ``substate``).
    """

    AVAILABLE = 1
    PUBLISH_ONLY = 2


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

    async def offline_detailed(self, cscs: Sequence[str]) -> dict[str, OfflineDetailedState]:
        """The last ``offlineDetailedState`` of each named (non-indexed) camera CSC, by name.

        A CSC that never published one is absent.
        """
        ...
