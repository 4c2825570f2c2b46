"""A fake Kubernetes API server on 127.0.0.1: the paths, objects and errors the cleanup meets.

It serves what :class:`integrations.kube.KubeCluster` calls through the official client, the way
kube-apiserver does (Kubernetes API reference, and kubernetes/kubernetes ``pkg/registry``):

- ``GET /version`` and ``/version/`` (the Python client asks for the latter), allowed without
  a token as ``system:public-info-viewer`` allows it;
- ``GET /api/v1/namespaces`` (``labelSelector``, ``limit``), ``GET|DELETE
  /api/v1/namespaces/{name}``: deleting a Namespace answers the Namespace in phase
  ``Terminating``; deleting one already terminating is a 409 Conflict, as the namespace
  registry answers ("The system is ensuring all content is removed from this namespace");
- ``GET /api/v1/namespaces/{ns}/pods`` and, under ``/apis/{group}/{version}/namespaces/{ns}/``,
  ``batch/v1`` jobs, ``apps/v1`` deployments and daemonsets, ``autoscaling/v2``
  horizontalpodautoscalers: list (with ``labelSelector``) and ``DELETE .../{name}``. A list in
  a namespace that does not exist is an empty list, as the real API answers;
- ``DELETE`` takes a ``DeleteOptions`` body (or the ``propagationPolicy`` query parameter).
  With no policy a batch/v1 Job's pods are **orphaned** (left running, their ownerReference
  removed): the Job registry's default for batch/v1 is ``OrphanDependents``
  (``pkg/registry/batch/job/strategy.go``). ``Background`` and ``Foreground`` remove the pods
  (the garbage collector is instant here). Background answers a ``Status`` of success,
  Foreground and Orphan the object with its ``deletionTimestamp`` and finalizer;
- errors are ``Status`` objects: 404 NotFound, 409 Conflict, 401 Unauthorized for a token it
  does not know, 403 Forbidden for a known token without the rights (or no token);
- list responses are shaped as the client's models read them (``kind: JobList``,
  ``apiVersion``, ``metadata.resourceVersion``, ``items`` without kind/apiVersion, each with the
  ``spec`` fields the models require).

It records every call and can be told to misbehave: ``delay`` (slow: every answer waits),
``delete_delay`` (deletions take this long, to watch the client's concurrency), ``fail``
(every call but ``/version`` answers this status), ``malformed`` (200 with a body that is not
JSON).

``on_delete`` (default: nothing) is awaited with ``(resource, namespace, name)`` after an object
(not a Namespace) is deleted: the hook through which a test couples the fake to the rest of a
site (a CSC whose Job is deleted stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fakes.kube_daemonsets import FakeDaemons, status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp handler, as a middleware is given it."""

TOKEN = "kube-test-token"  # noqa: S105  # a test value, not a secret
READ_ONLY_TOKEN = "kube-read-only-token"  # noqa: S105  # known, but may not delete anything
LABEL = "upgrade-bot.lsst.io/cluster"
"""The label on ``kube-system`` that names the cluster (what ops would set)."""
CREATED = "2026-03-10T03:00:00Z"
DELETED = "2026-03-10T03:30:00Z"

RESOURCES: dict[str, tuple[str, str, str]] = {
    "jobs": ("batch", "v1", "Job"),
    "deployments": ("apps", "v1", "Deployment"),
    "daemonsets": ("apps", "v1", "DaemonSet"),
    "horizontalpodautoscalers": ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    "pods": ("", "v1", "Pod"),
}
"""Resource (as in the path) -> group, version, kind: the versions the client calls."""

DEFAULT_POLICY = {"jobs": "Orphan"}
"""The registry's default propagation when the DELETE names none (Background otherwise)."""


@dataclass
class Call:
    """One request the fake got."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    authorization: str | None

    @property
    def policy(self) -> str | None:
        """The propagation policy the DELETE asked for (body or query), if any."""
        if self.body and self.body.get("propagationPolicy"):
            return str(self.body["propagationPolicy"])
        return self.query.get("propagationPolicy")


def _requirement(term: str) -> Any:
    """One requirement of a label selector, as a predicate on a labels dict."""
    term = term.strip()
    if match := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\((.*)\)", term):
        key, op, raw = match.groups()
        values = {v.strip() for v in raw.split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := re.fullmatch(r"([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)", term):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := re.fullmatch(r"!\s*([\w./-]+)", term):
        return lambda labels: match.group(1) not in labels
    if re.fullmatch(r"[\w./-]+", term):
        return lambda labels: term in labels
    raise ValueError(term)


def selector(text: str) -> Any:
    """A label selector (``a=b,c in (d, e)``) as a predicate; commas inside () do not split."""
    terms = [t for t in re.split(r",(?![^()]*\))", text) if t.strip()]
    predicates = [_requirement(t) for t in terms]
    return lambda labels: all(p(labels) for p in predicates)


async def _nothing(_resource: str, _namespace: str, _name: str) -> None:
    """The default :attr:`FakeKube.on_delete`: a deletion affects nothing outside the fake."""


@dataclass
class FakeKube:
    """The fake cluster's objects, the calls it got, and how it should misbehave."""

    name: str = "yagan"
    """What the ``kube-system`` Namespace's :data:`LABEL` says (None: no label)."""
    label: str | None = LABEL
    token: str = TOKEN
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    """Resource -> (namespace, name) -> the object."""
    calls: list[Call] = field(default_factory=list)
    delay: float = 0.0
    delete_delay: float = 0.0
    fail: int | None = None
    malformed: bool = False
    keep_terminating: bool = False
    """Deleted Namespaces stay ``Terminating`` (as with finalizers still running)."""
    in_flight: int = 0
    max_in_flight: int = 0
    """The most DELETEs the fake was answering at once."""
    on_delete: Callable[[str, str, str], Awaitable[None]] = _nothing
    """Awaited with (resource, namespace, name) after an object is deleted."""
    daemons: FakeDaemons = field(default_factory=FakeDaemons)
    """The DaemonSet controller, the kubelets and the access reviews (the pre-pull)."""
    _versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """Every cluster has kube-system (labelled with its name) and default."""
        labels = {self.label: self.name} if self.label else {}
        self.add_namespace("kube-system", labels)
        self.add_namespace("default")

    # -- building the cluster -----------------------------------------------------------

    def _meta(self, name: str, namespace: str | None, labels: dict[str, str]) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": name,
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(next(self._versions)),
            "creationTimestamp": CREATED,
            "labels": dict(labels),
        }
        if namespace is not None:
            meta["namespace"] = namespace
        return meta

    def add_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """A Namespace, Active."""
        self.namespaces[name] = {
            "metadata": self._meta(name, None, labels or {}),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    def add(
        self, resource: str, namespace: str, name: str, labels: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An object of ``resource`` (jobs, deployments, ...) with the spec its model needs."""
        if namespace not in self.namespaces:
            self.add_namespace(namespace)
        labels = labels or {"app.kubernetes.io/name": name}
        template: dict[str, Any] = {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": name, "image": f"lsstts/{name}:c0040"}]},
        }
        specs: dict[str, dict[str, Any]] = {
            "jobs": {"template": template, "backoffLimit": 0},
            "deployments": {"selector": {"matchLabels": labels}, "template": template},
            "daemonsets": {"selector": {"matchLabels": labels}, "template": template},
            "horizontalpodautoscalers": {
                "maxReplicas": 3,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            },
            "pods": template["spec"],
        }
        obj = {"metadata": self._meta(name, namespace, labels), "spec": specs[resource]}
        self.objects.setdefault(resource, {})[namespace, name] = obj
        return obj

    def add_job(
        self, namespace: str, name: str, labels: dict[str, str] | None = None, pods: int = 1
    ) -> None:
        """A Job and its running pods (labelled and owned as the Job controller does)."""
        job = self.add("jobs", namespace, name, labels or {"csc": name})
        uid = job["metadata"]["uid"]
        for n in range(pods):
            pod = self.add(
                "pods",
                namespace,
                f"{name}-{n:05x}",
                {"batch.kubernetes.io/job-name": name, "job-name": name, "controller-uid": uid},
            )
            pod["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]

    def names(self, resource: str, namespace: str) -> list[str]:
        """The names of the objects of ``resource`` in ``namespace`` now."""
        return sorted(n for ns, n in self.objects.get(resource, {}) if ns == namespace)

    def pods_of(self, namespace: str, job: str) -> list[str]:
        """The pods still there that the Job created (owned or orphaned)."""
        return sorted(
            n
            for (ns, n), pod in self.objects.get("pods", {}).items()
            if ns == namespace and pod["metadata"]["labels"].get("job-name") == job
        )

    def deletes(self) -> list[Call]:
        """The DELETE calls, in order."""
        return [c for c in self.calls if c.method == "DELETE"]

    def release(self) -> None:
        """End every pending slow answer (called before the server closes)."""
        self._release.set()

    # -- serving ------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application to serve."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/version", self._version)
        app.router.add_get("/version/", self._version)  # the Python client asks for this one
        self.daemons.serve(app, self, read_only=READ_ONLY_TOKEN)
        app.router.add_get("/api/v1/namespaces", self._list_namespaces)
        app.router.add_get("/api/v1/namespaces/{name}", self._get_namespace)
        app.router.add_delete("/api/v1/namespaces/{name}", self._delete_namespace)
        app.router.add_get("/api/v1/namespaces/{ns}/{resource}", self._list)
        app.router.add_delete("/api/v1/namespaces/{ns}/{resource}/{name}", self._delete)
        app.router.add_get("/apis/{group}/{version}/namespaces/{ns}/{resource}", self._list)
        app.router.add_delete(
            "/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}", self._delete
        )
        return app

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), seconds)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: dict[str, Any] | None = None
        if request.can_read_body:
            raw = await request.text()
            body = json.loads(raw) if raw else None
        auth = request.headers.get("Authorization")
        self.calls.append(Call(request.method, request.path, dict(request.query), body, auth))
        await self._wait(self.delay)
        refused = self._refusal(request, auth)
        if refused is not None:
            return refused
        if request.path.rstrip("/") == "/version":
            return await handler(request)
        if self.fail is not None:
            return status(self.fail, "InternalError", "Internal error occurred: etcd is sad")
        if self.malformed:
            return web.Response(
                text='{"kind": "JobList", "items": [', content_type="application/json"
            )
        if request.method != "DELETE":
            return await handler(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._wait(self.delete_delay)
            return await handler(request)
        finally:
            self.in_flight -= 1

    def _refusal(self, request: web.Request, auth: str | None) -> web.Response | None:
        """401 for a token it does not know, 403 for no token or a read-only one deleting."""
        if auth is not None and auth not in (f"Bearer {self.token}", f"Bearer {READ_ONLY_TOKEN}"):
            return status(401, "Unauthorized", "Unauthorized")
        if request.path.rstrip("/") == "/version":  # public information: anyone may read it
            return None
        if request.path.endswith("/selfsubjectaccessreviews") and auth is not None:
            return None  # any authenticated user may ask what they may do
        if auth is None or (auth == f"Bearer {READ_ONLY_TOKEN}" and request.method != "GET"):
            user = "system:anonymous" if auth is None else "system:serviceaccount:ops:readonly"
            verb = "list" if request.method == "GET" else "delete"
            return status(
                403, "Forbidden", f'{request.path} is forbidden: User "{user}" cannot {verb} it'
            )
        return None

    async def _version(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": "31",
                "emulationMajor": "1",
                "emulationMinor": "31",
                "gitVersion": "v1.31.4+rke2r1",
                "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
                "gitTreeState": "clean",
                "buildDate": "2024-12-10T23:58:58Z",
                "goVersion": "go1.22.9 X:boringcrypto",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    def _list_body(
        self, kind: str, api_version: str, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "kind": f"{kind}List",
            "apiVersion": api_version,
            "metadata": {"resourceVersion": str(next(self._versions))},
            "items": items,
        }

    async def _list_namespaces(self, request: web.Request) -> web.Response:
        match = selector(request.query.get("labelSelector", ""))
        items = [ns for _, ns in sorted(self.namespaces.items()) if match(ns["metadata"]["labels"])]
        body = self._list_body("Namespace", "v1", items)
        if limit := int(request.query.get("limit", "0")):
            if len(items) > limit:
                body["metadata"]["continue"] = "fake-continue-token"
                body["metadata"]["remainingItemCount"] = len(items) - limit
            body["items"] = items[:limit]
        return web.json_response(body)

    async def _get_namespace(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.namespaces:
            return status(404, "NotFound", f'namespaces "{name}" not found', kind="namespaces")
        return web.json_response({"kind": "Namespace", "apiVersion": "v1", **self.namespaces[name]})

    async def _delete_namespace(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        namespace = self.namespaces.get(name)
        if namespace is None:
            return status(404, "NotFound", f'namespaces "{name}" not found', kind="namespaces")
        if "deletionTimestamp" in namespace["metadata"]:
            return status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on namespaces "{name}": The system is ensuring '
                "all content is removed from this namespace.  Upon completion, this namespace "
                "will automatically be purged by the system.",
                kind="namespaces",
            )
        namespace["metadata"]["deletionTimestamp"] = DELETED
        namespace["status"]["phase"] = "Terminating"
        answer = {"kind": "Namespace", "apiVersion": "v1", **json.loads(json.dumps(namespace))}
        if not self.keep_terminating:
            del self.namespaces[name]
            for objects in self.objects.values():
                for key in [k for k in objects if k[0] == name]:
                    del objects[key]
        return web.json_response(answer)

    def _resource(self, request: web.Request) -> tuple[str, str, str] | None:
        resource = request.match_info["resource"]
        group = request.match_info.get("group", "")
        version = request.match_info.get("version", "v1")
        known = RESOURCES.get(resource)
        if known is None or known[:2] != (group, version):
            return None
        return known

    async def _list(self, request: web.Request) -> web.Response:
        known = self._resource(request)
        if known is None:  # kube-apiserver answers unknown API paths with a plain 404
            return web.Response(status=404, text="404 page not found")
        group, version, kind = known
        namespace = request.match_info["ns"]
        self.daemons.refresh(self)
        match = selector(request.query.get("labelSelector", ""))
        items = [
            obj
            for (ns, _), obj in sorted(self.objects.get(request.match_info["resource"], {}).items())
            if ns == namespace and match(obj["metadata"]["labels"])
        ]
        api_version = f"{group}/{version}" if group else version
        return web.json_response(self._list_body(kind, api_version, items))

    async def _delete(self, request: web.Request) -> web.Response:
        known = self._resource(request)
        if known is None:
            return web.Response(status=404, text="404 page not found")
        group, version, kind = known
        resource = request.match_info["resource"]
        namespace, name = request.match_info["ns"], request.match_info["name"]
        objects = self.objects.get(resource, {})
        obj = objects.get((namespace, name))
        plural = f"{resource}.{group}" if group else resource
        if obj is None:
            return status(404, "NotFound", f'{plural} "{name}" not found', name=name, kind=resource)
        call = self.calls[-1]
        policy = call.policy or DEFAULT_POLICY.get(resource, "Background")
        del objects[namespace, name]
        uid = obj["metadata"]["uid"]
        for key, pod in list(self.objects.get("pods", {}).items()):
            owners = pod["metadata"].get("ownerReferences", [])
            if not any(o["uid"] == uid for o in owners):
                continue
            if policy == "Orphan":  # the garbage collector removes the ownerReference only
                pod["metadata"]["ownerReferences"] = [o for o in owners if o["uid"] != uid]
            else:
                del self.objects["pods"][key]
        await self.on_delete(resource, namespace, name)
        if policy == "Background":
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "group": group, "kind": resource, "uid": uid},
                }
            )
        finalizer = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}[policy]
        obj["metadata"]["deletionTimestamp"] = DELETED
        obj["metadata"]["finalizers"] = [finalizer]
        api_version = f"{group}/{version}" if group else version
        return web.json_response({"kind": kind, "apiVersion": api_version, **obj})
