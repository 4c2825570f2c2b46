"""The site's Kubernetes cluster: what lsst-ts/k8s-admin's cleanup scripts delete, via the API.

The real client, :class:`KubeCluster`, talks to the Kubernetes API through the official
``kubernetes`` Python package (37.x, generated from the API's OpenAPI of release 1.37):
``GET /version/``, ``core/v1`` namespaces, ``batch/v1`` jobs, ``apps/v1`` deployments and
daemonsets, ``autoscaling/v2`` horizontalpodautoscalers, lists with ``labelSelector`` and
``DELETE`` with a ``DeleteOptions`` body. Sources: lsst-ts/k8s-admin ``cleanup_all``,
``cleanup_nublado`` and ``helpers.py`` (what is deleted, in which namespaces, with which
selectors); kubernetes/kubernetes ``pkg/registry/batch/job/strategy.go`` (a batch/v1 Job
deleted without a propagation policy orphans its pods) and ``pkg/registry/core/namespace``
(deleting a Namespace already terminating is a 409 Conflict); the Kubernetes API reference for
the paths and the ``Status`` error objects.

The package: ``_interface`` holds the :class:`Cluster` interface and :class:`Deletion`;
``_prepull`` the pre-pull DaemonSet (its manifest, its pods read, its rights), ``_daemonset``
its calls;
``_cleanup`` what the cleanup deletes (k8s-admin's listings, the propagation policy, and each
kind's list and delete calls); ``_api`` the connection to the API server through the official
client (configuration, thread pool, failures); ``_client`` :class:`KubeCluster`, which proves
the cluster and plans and deletes.
"""

from integrations.kube._api import SYSTEM
from integrations.kube._cleanup import (
    JOB_NAMESPACES,
    NUBLADO_SELECTOR,
    OCPS_SELECTOR,
    PROPAGATION,
    Listing,
    cleanup_listings,
)
from integrations.kube._client import KubeCluster
from integrations.kube._interface import Cluster, Deletion, Kind
from integrations.kube._prepull import (
    RIGHTS,
    Failure,
    NodePull,
    Prepull,
    PrepullState,
    container_name,
    daemonset,
)

__all__ = [
    "JOB_NAMESPACES",
    "NUBLADO_SELECTOR",
    "OCPS_SELECTOR",
    "PROPAGATION",
    "RIGHTS",
    "SYSTEM",
    "Cluster",
    "Deletion",
    "Failure",
    "Kind",
    "KubeCluster",
    "Listing",
    "NodePull",
    "Prepull",
    "PrepullState",
    "cleanup_listings",
    "container_name",
    "daemonset",
]
