"""The :class:`Efd` interface and what it answers: summary states and heartbeat ages.

And, for the camera CSCs, the substate of their OFFLINE (whether their bridge was made
available from CCS).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Protocol

from integrations.base import Integration

HEARTBEAT_SILENCE = 10.0
"""Seconds without a heartbeat after which a CSC counts as not running (it beats every 1 s)."""

NOT_CSCS = frozenset({"Script"})
"""SAL components that beat but are not CSCs. A SAL script (``lsst.sal.Script``, its index the
script's id in the queue) beats every 5 s while it is loaded (ts_salobj ``base_script.py``,
``HEARTBEAT_INTERVAL``), has no summary state and is never sent OFFLINE:
``system_wide_shutdown.py`` ignores it (ts_standardscripts, ``components_to_ignore``), and a
queue that exits takes its scripts with it (ts_scriptqueue ``close_tasks``)."""


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
    """The CSCs, by ``Name:index``."""
    scripts: dict[str, CscState] = field(default_factory=dict)
    """The SAL scripts beating in the queues (``Script:<id>``): heard, but no CSC."""

    @classmethod
    def read(cls, *, at: datetime, fresh: bool, components: Iterable[CscState]) -> SiteStates:
        """A reading of every component heard, the scripts set apart from the CSCs."""
        cscs: dict[str, CscState] = {}
        scripts: dict[str, CscState] = {}
        for component in components:
            (scripts if component.name in NOT_CSCS else cscs)[component.ref] = component
        return cls(at=at, fresh=fresh, cscs=cscs, scripts=scripts)


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
