"""The container images an application's rendered manifests will run (pure, no I/O).

What ArgoCD's ``GetManifests`` answers (``GET /api/v1/applications/{name}/manifests?revision=R``,
``server/application/application.proto`` of argoproj/argo-cd: ``ApplicationManifestQuery`` ->
``repository.ManifestResponse``) is the app's manifests rendered at that revision, each a JSON
text. The images a node will pull are those of the pod templates: ``spec.template.spec`` of a
Deployment, Job, StatefulSet, DaemonSet and ReplicaSet, ``spec.jobTemplate.spec.template.spec``
of a CronJob, ``spec`` of a bare Pod; in each, ``initContainers`` then ``containers`` (the
Kubernetes API reference, ``PodSpec``). ``ephemeralContainers`` are never in a manifest (they are
added to running pods), so there are none to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TEMPLATED = frozenset({"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"})
"""Kinds whose pods are ``spec.template``."""


@dataclass(frozen=True, slots=True)
class AppImages:
    """One application's images at a revision, in the order its manifests name them."""

    app: str
    images: tuple[str, ...]


def _pod_spec(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec a manifest's workload runs, if it runs pods."""
    kind = manifest.get("kind")
    spec = manifest.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if kind == "Pod":
        return spec
    if kind in TEMPLATED:
        template = spec.get("template")
    elif kind == "CronJob":
        job = spec.get("jobTemplate")
        job_spec = job.get("spec") if isinstance(job, Mapping) else None
        template = job_spec.get("template") if isinstance(job_spec, Mapping) else None
    else:
        return None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    return pod if isinstance(pod, Mapping) else None


def images_of(manifests: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Every image the manifests' pods run (init containers first), each once, in order."""
    seen: dict[str, None] = {}
    for manifest in manifests:
        pod = _pod_spec(manifest)
        if pod is None:
            continue
        for key in ("initContainers", "containers"):
            containers = pod.get(key)
            for container in containers if isinstance(containers, list) else ():
                image = container.get("image") if isinstance(container, Mapping) else None
                if isinstance(image, str) and image.strip():
                    seen.setdefault(image.strip(), None)
    return tuple(seen)


def unique_images(apps: Iterable[AppImages]) -> tuple[str, ...]:
    """The images of several apps, each once, in the apps' order (the order they sync)."""
    seen: dict[str, None] = {}
    for app in apps:
        for image in app.images:
            seen.setdefault(image, None)
    return tuple(seen)
