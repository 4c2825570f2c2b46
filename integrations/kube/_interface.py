"""The :class:`Cluster` interface and :class:`Deletion`, what it deletes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from integrations.base import Integration, Report
from integrations.kube._prepull import Prepull, PrepullState

Kind = Literal["Job", "Deployment", "HorizontalPodAutoscaler", "DaemonSet", "Namespace"]
"""The kinds of object the cleanup deletes."""


@dataclass(frozen=True, slots=True)
class Deletion:
    """One object the cleanup deletes."""

    kind: Kind
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        """``Job maintel/mtmount``."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


class Cluster(Integration, Protocol):
    """The Kubernetes API server of one site."""

    async def identity(self) -> str:
        """What identifies the cluster (its API server and identifying label or namespace).

        The engine refuses to clean up unless this matches the site's configuration: a kube
        context's name proves nothing.
        """
        ...

    async def plan_cleanup(
        self, scope: Literal["all", "nublado"], *, daemonsets: bool
    ) -> list[Deletion]:
        """What the cleanup would delete now (the preview the lead approves)."""
        ...

    async def delete(self, deletions: Sequence[Deletion], report: Report) -> None:
        """Delete these objects (Jobs with their pods); objects already gone are fine."""
        ...

    async def start_prepull(self, prepull: Prepull) -> None:
        """Create the pre-pull DaemonSet, or replace it (same name) with these images."""
        ...

    async def prepull_state(self, namespace: str, name: str) -> PrepullState:
        """The pre-pull DaemonSet's nodes and what each has pulled (gone: ``exists`` False)."""
        ...

    async def stop_prepull(self, namespace: str, name: str) -> None:
        """Delete the pre-pull DaemonSet with its pods (already gone is fine)."""
        ...

    async def prepull_rights(self, namespace: str) -> list[str]:
        """The rights the pre-pull needs in ``namespace`` that the bot's account lacks."""
        ...
