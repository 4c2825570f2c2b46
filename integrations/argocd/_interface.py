"""What the bot needs of a site's ArgoCD: the :class:`ArgoCD` interface and what it answers.

The shapes follow the Argo CD v3 API (argoproj/argo-cd ``assets/swagger.json``,
``pkg/apis/application/v1alpha1/types.go``); the real client is in :mod:`._client`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from integrations.base import Integration
from integrations.images import AppImages


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


PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})
"""A container waiting on its image: the kubelet retries the pull by itself (kubelet's
``images.ErrImagePull``, ``ImagePullBackOff``); an ``Init:`` prefix means an init container."""


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod of an application as its resource tree shows it (a ``ResourceNode`` of kind Pod).

    ``reason`` is ArgoCD's ``Status Reason`` info item, computed like ``kubectl get pods``'
    STATUS column (``controller/cache/info.go`` ``populatePodInfo``): ``Running``,
    ``Completed``, ``Pending``, ``ContainerCreating``, ``ErrImagePull``, ``ImagePullBackOff``,
    ``CrashLoopBackOff``, ``Init:0/1``... ``containers`` is its ``Containers`` item, ready of
    all (``0/1``). ``health`` and ``message`` are the node's health (gitops-engine
    ``health_pod.go``: a long-running pod with a container waiting in ``Err*`` or ``*BackOff``
    is Degraded, with the container's waiting message).
    """

    namespace: str
    name: str
    reason: str
    containers: str = ""
    health: str = ""
    message: str = ""

    @property
    def ready(self) -> bool:
        """Finished, or running with every container ready."""
        if self.reason == "Completed":
            return True
        ready, _, total = self.containers.partition("/")
        return self.reason == "Running" and bool(total) and ready == total

    @property
    def pulling(self) -> bool:
        """Waiting on an image pull that failed for now (the kubelet tries again by itself)."""
        return self.reason.removeprefix("Init:") in PULL_REASONS

    def line(self) -> str:
        """``Pod love/love-nginx-1: ImagePullBackOff (0/1) Back-off pulling image "..."``."""
        containers = f" ({self.containers})" if self.containers else ""
        message = f" {self.message}" if self.message else ""
        return f"Pod {self.namespace}/{self.name}: {self.reason}{containers}{message}"


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

    async def pods(self, app: str) -> list[Pod]:
        """The application's pods, live, from its resource tree (why it is not Healthy yet)."""
        ...

    async def images(self, app: str, revision: str | None) -> AppImages:
        """The images the app's manifests run at ``revision`` (``None``: its target revision)."""
        ...

    async def sync(self, app: str, *, prune: bool) -> bool:
        """Start a sync operation, unless one is already in progress on the app.

        Returns once ArgoCD recorded it: ``True`` when this call started it, ``False`` when an
        operation was already pending or running (it is followed, never doubled).
        """
        ...

    async def terminate(self, app: str) -> None:
        """Terminate the application's running operation."""
        ...
