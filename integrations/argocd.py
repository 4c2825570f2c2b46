"""ArgoCD: applications, their sync and health, diffs, syncs (REST, bearer token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from integrations.base import Integration


@dataclass(frozen=True, slots=True)
class AppStatus:
    """``status`` of an ArgoCD Application, as ``GET /api/v1/applications/{name}`` gives it."""

    name: str
    sync: str
    """``Synced``, ``OutOfSync``, ``Unknown``."""
    health: str
    """``Healthy``, ``Progressing``, ``Degraded``, ``Suspended``, ``Missing``, ``Unknown``."""
    operation: str | None
    """The last operation's phase: ``Running``, ``Succeeded``, ``Failed``, ``Error``..."""
    message: str = ""

    @property
    def done(self) -> bool:
        """Synced and Healthy with no operation running."""
        return self.sync == "Synced" and self.health == "Healthy" and self.operation != "Running"


class ArgoCD(Integration, Protocol):
    """The ArgoCD server of one site."""

    async def apps(self, project: str) -> list[str]:
        """The applications of an ArgoCD project."""
        ...

    async def status(self, app: str) -> AppStatus:
        """The application's sync, health and operation state."""
        ...

    async def diff(self, app: str) -> list[str]:
        """The out-of-sync resources (``Kind namespace/name``), for the lead to review."""
        ...

    async def sync(self, app: str, *, prune: bool) -> None:
        """Start a sync operation (returns once ArgoCD accepted it)."""
        ...

    async def terminate(self, app: str) -> None:
        """Terminate the application's running operation."""
        ...
