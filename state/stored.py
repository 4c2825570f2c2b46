"""What the store hands back besides runs (progress lines, who holds a lease), its errors, rows.

Pure data, apart from the store that reads and writes them, so that what uses them
(the engine, the lease of the running bot) need not know SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from state.events import Event
    from state.run import Run

Busy = Callable[[], AbstractContextManager[None]]
"""Entered around every statement the store runs (see :meth:`state.store.Store.open`)."""

FREE = datetime.min.replace(tzinfo=UTC).isoformat()
"""The expiry of a released (or never taken) lease: long past."""

FIXED = frozenset({"run_id", "site", "started_at"})
"""The columns of a run's row that never change."""


def run_row(run: Run, updated_at: datetime, epoch: int | None) -> dict[str, Any]:
    """A run's row: its snapshot, and what the queries select it by."""
    return {
        "run_id": run.run_id,
        "site": run.site,
        "open_site": run.site if run.status.open else None,
        "status": run.status.value,
        "version": run.version,
        "started_at": run.started_at.isoformat(),
        "updated_at": updated_at.isoformat(),
        "snapshot": run.model_dump_json(),
        "epoch": epoch,
    }


def event_rows(
    run_id: str, after: int, new: Sequence[Event], epoch: int | None
) -> list[dict[str, Any]]:
    """The rows of ``new``, appended after event ``after`` of the run, under lease ``epoch``."""
    return [
        {"run_id": run_id, "seq": after + i, "type": item.type, "v": item.v, "epoch": epoch,
         "at": item.at.isoformat(), "actor": item.actor, "body": item.model_dump_json()}
        for i, item in enumerate(new, start=1)
    ]  # fmt: skip


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
