"""The pre-pull DaemonSet: its manifest, what its pods say, and the rights it needs (pure).

Every node pulls every image of the new cycle before the deployment: a DaemonSet puts one pod
on each node, and each image is an *init container* of that pod, so the kubelet pulls it, runs
it (a no-op) and goes to the next; the main container is ``pause`` (``registry.k8s.io/pause``,
the image Kubernetes itself uses to hold a pod's namespaces), which does nothing until the
DaemonSet is deleted. The pattern is the one of jupyterhub/zero-to-jupyterhub-k8s's
``image-puller`` DaemonSet (``images/pre-puller``, its chart's ``image-puller`` templates: init
containers per image, a pause container) and of Cdayz/k8s-image-pre-puller.

The no-op. Those pullers run ``/bin/sh -c 'echo ...'`` or ``sh -c true`` in the pulled image,
which fails in an image without a shell (distroless, scratch). Here the first init container
copies a statically linked ``busybox`` (the official image's binary is static) into an
``emptyDir`` shared by every init container, and each image's container runs
``/prepull/busybox true`` from it: nothing of the pulled image is needed but that it starts on
the node's architecture. ``imagePullPolicy: IfNotPresent`` pulls what the node lacks and no
more. Tolerating every taint lets the pods reach every node a CSC may land on.

Init containers run one after another (the pod spec's rule), and the kubelet pulls one image
at a time by default (``serializeImagePulls``): an image that cannot be pulled holds the images
after it on that node. The follower (``bot/engine/runners/prepull.py``) therefore replaces the
DaemonSet without the failed images (:func:`daemonset` again, ``PUT``), and leaves those to the
deployment.

What a node's pod says (``status.initContainerStatuses``, Kubernetes API ``ContainerStatus``):
``state.terminated`` with exit code 0: the image is there; ``state.waiting`` with ``reason``
``ErrImagePull``, ``ImagePullBackOff``, ``InvalidImageName``, ``ErrImageNeverPull``: it cannot be
pulled (for now: the kubelet retries with back-off), its ``message`` says why; ``PodInitializing``:
not reached yet. A pod whose main container runs has every image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PULL_FAILURES = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
"""A container's ``state.waiting.reason`` when its image cannot be pulled (kubelet ``images``)."""
STUCK = PULL_FAILURES | {
    "CrashLoopBackOff", "RunContainerError", "CreateContainerError", "CreateContainerConfigError"
}  # fmt: skip
"""Reasons an init container holds the images after it: pulled or not, it does not end."""
BIN = "/prepull"
"""Where the shared ``emptyDir`` holds the no-op binary."""
LABEL = "upgrade-bot.lsst.io/prepull"
"""The label of the DaemonSet's pods (its selector), valued with the run's id."""

RIGHTS: tuple[tuple[str, str, str], ...] = (
    ("create", "apps", "daemonsets"),
    ("get", "apps", "daemonsets"),
    ("update", "apps", "daemonsets"),
    ("delete", "apps", "daemonsets"),
    ("list", "", "pods"),
    ("get", "", "pods"),
)
"""(verb, group, resource) the pre-pull needs in its namespace: a Role there, nothing more."""


@dataclass(frozen=True, slots=True)
class Prepull:
    """One pre-pull: a DaemonSet ``name`` in ``namespace`` pulling ``images`` on every node."""

    namespace: str
    name: str
    run: str
    """The run's id, the pods' label value."""
    images: tuple[str, ...]
    pause_image: str
    noop_image: str


@dataclass(frozen=True, slots=True)
class Failure:
    """An image a node cannot pull now: the kubelet's reason and message."""

    image: str
    reason: str
    message: str = ""

    def line(self) -> str:
        """``ts-dockerhub.lsst.org/atdome:c0041: ImagePullBackOff (Back-off pulling ...)``."""
        said = f" ({self.message})" if self.message else ""
        return f"{self.image}: {self.reason}{said}"


@dataclass(frozen=True, slots=True)
class NodePull:
    """One node's pod of the DaemonSet: what it pulled, what fails, whether it is done."""

    node: str
    pulled: tuple[str, ...]
    failing: tuple[Failure, ...]
    done: bool
    """Every image pulled: the pod's ``pause`` container runs."""


@dataclass(frozen=True, slots=True)
class PrepullState:
    """The DaemonSet as it is now: how many nodes it should cover, and each node's pod."""

    exists: bool
    desired: int
    """``status.desiredNumberScheduled``: the nodes the DaemonSet places a pod on."""
    nodes: tuple[NodePull, ...] = ()

    @property
    def done(self) -> bool:
        """Every node has every image (its pod runs)."""
        return self.exists and len(self.nodes) >= self.desired and all(n.done for n in self.nodes)

    def failures(self) -> dict[str, Failure]:
        """The images some node cannot pull, each with one node's words."""
        found: dict[str, Failure] = {}
        for node in self.nodes:
            for failure in node.failing:
                found.setdefault(failure.image, failure)
        return found


def container_name(index: int, image: str) -> str:
    """A DNS-label name for the image's init container: ``pull-03-atdome``."""
    base = image.rsplit("/", 1)[-1].split("@", maxsplit=1)[0].split(":", maxsplit=1)[0]
    slug = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-") or "image"
    return f"pull-{index:02d}-{slug}"[:63].rstrip("-")


def daemonset(spec: Prepull) -> dict[str, Any]:
    """The DaemonSet manifest (``apps/v1``) for the pre-pull."""
    labels = {LABEL: spec.run, "app.kubernetes.io/managed-by": "upgrade-bot"}
    mount = [{"name": "prepull-bin", "mountPath": BIN}]
    small = {"requests": {"cpu": "1m", "memory": "8Mi"}, "limits": {"memory": "64Mi"}}
    inits: list[dict[str, Any]] = [
        {
            "name": "noop",
            "image": spec.noop_image,
            "command": ["cp", "/bin/busybox", f"{BIN}/busybox"],
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": mount,
            "resources": small,
        }
    ]
    inits += [
        {
            "name": container_name(n, image),
            "image": image,
            "command": [f"{BIN}/busybox", "true"],
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": mount,
            "resources": small,
        }
        for n, image in enumerate(spec.images, 1)
    ]
    pod = {
        "initContainers": inits,
        "containers": [{"name": "pause", "image": spec.pause_image, "resources": small}],
        "volumes": [{"name": "prepull-bin", "emptyDir": {}}],
        "tolerations": [{"operator": "Exists"}],
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {LABEL: spec.run}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def node_pull(pod: Mapping[str, Any]) -> NodePull:
    """What one of the DaemonSet's pods says of its node's images."""
    spec, status = _map(pod.get("spec")), _map(pod.get("status"))
    images = {
        str(c.get("name")): str(c.get("image"))
        for c in map(_map, _list(spec.get("initContainers")))
        if c.get("name") != "noop"
    }
    pulled: list[str] = []
    failing: list[Failure] = []
    for container in map(_map, _list(status.get("initContainerStatuses"))):
        image = images.get(str(container.get("name")))
        if image is None:
            continue
        state = _map(container.get("state"))
        if "running" in state or _map(state.get("terminated")).get("exitCode") == 0:
            pulled.append(image)
        waiting = _map(state.get("waiting"))
        if waiting.get("reason") in STUCK:
            failing.append(Failure(image, str(waiting["reason"]), str(waiting.get("message", ""))))
    main = [_map(c.get("state")) for c in map(_map, _list(status.get("containerStatuses")))]
    done = status.get("phase") == "Running" and bool(main) and all("running" in s for s in main)
    node = str(spec.get("nodeName") or _map(pod.get("metadata")).get("name") or "?")
    return NodePull(node, tuple(pulled), tuple(failing), done)
