"""ArgoCD: applications, their sync and health, diffs, images, syncs (REST, bearer token).

The interface (:class:`ArgoCD`, what it answers) is in ``_interface``; the real client
(:class:`ArgoCDClient`, the Argo CD v3 REST API) in ``_client``.
"""

from integrations.argocd._client import ArgoCDClient
from integrations.argocd._interface import PULL_REASONS, AppStatus, ArgoCD, Pod

__all__ = ["PULL_REASONS", "AppStatus", "ArgoCD", "ArgoCDClient", "Pod"]
