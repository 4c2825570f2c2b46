"""What the store hands back besides runs (progress lines, who holds a lease), and its errors.

Pure data, apart from :mod:`state.store` that reads and writes them, so that what uses them
(the engine, the lease of the running bot) need not know SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class StoreError(Exception):
    """The store cannot do what was asked (unreachable, corrupt, written by a newer bot)."""


class VersionConflict(StoreError):
    """Another command changed the run between deciding and saving."""

    def __init__(self, run_id: str, expected: int) -> None:
        """Name the run and the version the save expected."""
        super().__init__(f"run {run_id} is no longer at version {expected}")
        self.run_id = run_id
        self.expected = expected


class LeaseLost(StoreError):
    """The store's lease was taken by another bot (or released): this one may write no more."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a lease, until when, at which epoch (it grows each time it changes hands)."""

    name: str
    holder: str
    expires_at: datetime
    epoch: int


@dataclass(frozen=True, slots=True)
class Progress:
    """The latest progress line of a step's attempt ("41/57 CSCs OFFLINE")."""

    step_id: str
    attempt: int
    text: str
    at: datetime
