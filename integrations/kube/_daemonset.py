"""The pre-pull's API calls through the official client: create or replace, read, delete, rights.

Paths (Kubernetes API reference, ``apps/v1`` DaemonSet, ``core/v1`` Pod,
``authorization.k8s.io/v1`` SelfSubjectAccessReview): ``POST|GET|PUT|DELETE
/apis/apps/v1/namespaces/{ns}/daemonsets[/{name}]``, ``GET /api/v1/namespaces/{ns}/pods
?labelSelector=``, ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``. Reads are
asked with ``_preload_content=False`` and read as JSON: a pod's status is read field by field
(:func:`integrations.kube._prepull.node_pull`) rather than through the client's models, which
refuse an object missing a field they require.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from kubernetes.client import AppsV1Api, AuthorizationV1Api, CoreV1Api

from integrations.errors import IntegrationError
from integrations.kube._api import KubeApi
from integrations.kube._cleanup import PROPAGATION
from integrations.kube._prepull import (
    LABEL,
    RIGHTS,
    Prepull,
    PrepullState,
    daemonset,
    node_pull,
)


def _json(response: Any) -> dict[str, Any]:  # noqa: ANN401  # urllib3's response, untyped here
    """The body of an answer read without the client's models."""
    value = json.loads(response.data)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004  # KubeApi.call: a malformed answer
    return value


async def start(api: KubeApi, spec: Prepull) -> None:
    """Create the DaemonSet, or replace it (same name) with this one's images."""
    client = await api.checked()
    body: Any = daemonset(spec)  # the client sends a dict as it is (its models are optional)
    ns, rt = spec.namespace, api.rt
    apps = AppsV1Api(client)
    what = f"create DaemonSet {ns}/{spec.name}"
    try:
        await api.call(
            what, lambda: apps.create_namespaced_daemon_set(ns, body, _request_timeout=rt)
        )
    except IntegrationError as err:
        if err.status != HTTPStatus.CONFLICT:
            raise
        await api.call(
            f"replace DaemonSet {ns}/{spec.name}",
            lambda: apps.replace_namespaced_daemon_set(spec.name, ns, body, _request_timeout=rt),
        )


async def state(api: KubeApi, namespace: str, name: str) -> PrepullState:
    """The DaemonSet's desired nodes and its pods' images (not there: ``exists`` False)."""
    client = await api.checked()
    rt = api.rt
    try:
        found = await api.call(
            f"read DaemonSet {namespace}/{name}",
            lambda: _json(
                AppsV1Api(client).read_namespaced_daemon_set(
                    name, namespace, _request_timeout=rt, _preload_content=False
                )
            ),
        )
    except IntegrationError as err:
        if err.status == HTTPStatus.NOT_FOUND:
            return PrepullState(exists=False, desired=0)
        raise
    selector = found.get("spec", {}).get("selector", {}).get("matchLabels", {})
    run = selector.get(LABEL, "")
    pods = await api.call(
        f"list pods in {namespace}",
        lambda: _json(
            CoreV1Api(client).list_namespaced_pod(
                namespace,
                label_selector=f"{LABEL}={run}",
                _request_timeout=rt,
                _preload_content=False,
            )
        ),
    )
    uid = found.get("metadata", {}).get("uid")
    owned = [
        pod
        for pod in pods.get("items") or []
        if any(o.get("uid") == uid for o in pod.get("metadata", {}).get("ownerReferences") or [])
    ]
    desired = int(found.get("status", {}).get("desiredNumberScheduled") or 0)
    nodes = sorted((node_pull(pod) for pod in owned), key=lambda n: n.node)
    return PrepullState(exists=True, desired=desired, nodes=tuple(nodes))


async def stop(api: KubeApi, namespace: str, name: str) -> None:
    """Delete the DaemonSet (its pods go with it); already gone is fine."""
    client = await api.checked()
    rt = api.rt
    body: Any = {"propagationPolicy": PROPAGATION}
    try:
        await api.call(
            f"delete DaemonSet {namespace}/{name}",
            lambda: AppsV1Api(client).delete_namespaced_daemon_set(
                name, namespace, body=body, _request_timeout=rt
            ),
        )
    except IntegrationError as err:
        if err.status != HTTPStatus.NOT_FOUND:
            raise


async def missing_rights(api: KubeApi, namespace: str) -> list[str]:
    """The rights of :data:`RIGHTS` the bot's account lacks in ``namespace`` (asked one each)."""
    client = await api.checked()
    rt = api.rt
    missing = []
    for verb, group, resource in RIGHTS:
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": namespace,
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                }
            },
        }
        answer = await api.call(
            f"review {verb} {resource}",
            lambda body=review: _json(  # type: ignore[misc]
                AuthorizationV1Api(client).create_self_subject_access_review(
                    body, _request_timeout=rt, _preload_content=False
                )
            ),
        )
        if answer.get("status", {}).get("allowed") is not True:
            missing.append(f"{verb} {resource}{'.' + group if group else ''}")
    return missing
