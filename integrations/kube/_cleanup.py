"""What the cleanup deletes, as tables: lsst-ts/k8s-admin's listings, and each kind's API calls.

:func:`cleanup_listings` says what ``cleanup_all`` / ``cleanup_nublado`` delete (which kinds, in
which namespaces, with which selectors), :data:`PROPAGATION` how, and :data:`KINDS` how the
official client lists and deletes each kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kubernetes.client import (
    ApiClient,
    AppsV1Api,
    AutoscalingV2Api,
    BatchV1Api,
    CoreV1Api,
    V1DeleteOptions,
    V1ObjectMeta,
)

from integrations.kube._interface import Kind

JOB_NAMESPACES = (
    "auxtel", "calsys", "calsys-lab", "control-system-test", "eas", "envsys", "maintel",
    "simonyitel", "obssys", "dds-test",
)  # fmt: skip
"""``cleanup_all`` deletes every Job in these namespaces (``kubectl delete job -n NS --all``)."""
OCPS_SELECTOR = "csc in (atocps, ccocps, raocps)"
"""In ``uws`` only the OCPS Jobs go (``-l "csc in (atocps, ccocps, raocps)"``)."""
NUBLADO_SELECTOR = "argocd.argoproj.io/instance=nublado-users"
"""``cleanup_nublado``: ``kubectl delete ns -l argocd.argoproj.io/instance=nublado-users``."""
PROPAGATION = "Background"
"""How every deletion propagates to the object's dependents (a Job's pods).

Through the API a batch/v1 Job deleted without a policy *orphans* its pods (the Job registry's
default for batch/v1 is ``OrphanDependents``), so the CSCs would keep running. ``Background``
is what ``kubectl delete`` does by default (``--cascade=background``), i.e. exactly what the
k8s-admin scripts do: the Job goes at once and the garbage collector then deletes its pods,
each with its normal termination grace period. ``Foreground`` would keep every Job visible
(``deletionTimestamp`` set) until its pods are gone, which makes a re-plan list Jobs that are
already going and gains nothing here: the next steps (configuration, ArgoCD sync) come minutes
later, long after the pods have ended.
"""


@dataclass(frozen=True, slots=True)
class Listing:
    """One ``kubectl delete`` of the cleanup scripts: a kind, where, and which (selector)."""

    kind: Kind
    namespace: str | None
    selector: str | None = None


def cleanup_listings(scope: Literal["all", "nublado"], *, daemonsets: bool) -> list[Listing]:
    """What ``cleanup_all [-d]`` or ``cleanup_nublado`` deletes, in the scripts' order.

    ``cleanup_all`` walks k8s-admin's ``helpers.STANDARD_NAMESPACES`` with ``API_MAPPING``:
    Jobs (all, or the OCPS ones in ``uws``), LOVE's Deployments, Jobs and HPAs, the
    ``kafka-producers`` Deployments, and the ``ospl-daemon`` DaemonSets only with ``-d``.
    """
    if scope == "nublado":
        return [Listing("Namespace", None, NUBLADO_SELECTOR)]
    plan: list[Listing] = []
    for ns in (
        "auxtel", "calsys", "calsys-lab", "control-system-test", "eas", "envsys", "love",
        "maintel", "simonyitel", "uws", "obssys", "dds-test",
    ):  # fmt: skip
        if ns == "love":
            plan += [
                Listing("Deployment", ns),
                Listing("Job", ns),
                Listing("HorizontalPodAutoscaler", ns),
            ]
        elif ns == "uws":
            plan.append(Listing("Job", ns, OCPS_SELECTOR))
        else:
            plan.append(Listing("Job", ns))
    plan.append(Listing("Deployment", "kafka-producers"))
    if daemonsets:
        plan.append(Listing("DaemonSet", "ospl-daemon"))
    return plan


RequestTimeout = tuple[float, float]
"""The client's ``_request_timeout``: (connect, read) seconds."""


@dataclass(frozen=True, slots=True)
class KindCalls:
    """How the official client lists and deletes one kind (a Namespace has no ``namespace``)."""

    list_objects: Callable[[ApiClient, str, str | None, RequestTimeout], list[V1ObjectMeta | None]]
    """``(client, namespace, label selector, timeout)``: the metadata of the objects listed."""
    delete_object: Callable[[ApiClient, str, str, V1DeleteOptions, RequestTimeout], object]
    """``(client, name, namespace, options, timeout)``: one DELETE."""


KINDS: dict[Kind, KindCalls] = {
    "Job": KindCalls(
        list_objects=lambda c, ns, sel, rt: [
            i.metadata
            for i in BatchV1Api(c)
            .list_namespaced_job(ns, label_selector=sel, _request_timeout=rt)
            .items
        ],
        delete_object=lambda c, name, ns, body, rt: BatchV1Api(c).delete_namespaced_job(
            name, ns, body=body, _request_timeout=rt
        ),
    ),
    "Deployment": KindCalls(
        list_objects=lambda c, ns, sel, rt: [
            i.metadata
            for i in AppsV1Api(c)
            .list_namespaced_deployment(ns, label_selector=sel, _request_timeout=rt)
            .items
        ],
        delete_object=lambda c, name, ns, body, rt: AppsV1Api(c).delete_namespaced_deployment(
            name, ns, body=body, _request_timeout=rt
        ),
    ),
    "DaemonSet": KindCalls(
        list_objects=lambda c, ns, sel, rt: [
            i.metadata
            for i in AppsV1Api(c)
            .list_namespaced_daemon_set(ns, label_selector=sel, _request_timeout=rt)
            .items
        ],
        delete_object=lambda c, name, ns, body, rt: AppsV1Api(c).delete_namespaced_daemon_set(
            name, ns, body=body, _request_timeout=rt
        ),
    ),
    "HorizontalPodAutoscaler": KindCalls(
        list_objects=lambda c, ns, sel, rt: [
            i.metadata
            for i in AutoscalingV2Api(c)
            .list_namespaced_horizontal_pod_autoscaler(ns, label_selector=sel, _request_timeout=rt)
            .items
        ],
        delete_object=lambda c, name, ns, body, rt: AutoscalingV2Api(
            c
        ).delete_namespaced_horizontal_pod_autoscaler(name, ns, body=body, _request_timeout=rt),
    ),
    "Namespace": KindCalls(
        list_objects=lambda c, _ns, sel, rt: [
            i.metadata
            for i in CoreV1Api(c).list_namespace(label_selector=sel, _request_timeout=rt).items
        ],
        delete_object=lambda c, name, _ns, body, rt: CoreV1Api(c).delete_namespace(
            name, body=body, _request_timeout=rt
        ),
    ),
}
"""Each kind's calls: ``batch/v1``, ``apps/v1``, ``autoscaling/v2`` (``hpa``), ``core/v1``."""
