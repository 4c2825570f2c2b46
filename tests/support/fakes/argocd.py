"""A fake Argo CD API server on 127.0.0.1: applications whose syncs play out over a short time.

It serves, under the root path ``/argo-cd``, the paths, verbs, bodies and errors of the real
server (Argo CD v3, ``assets/swagger.json`` and ``server/application/application.go`` of
argoproj/argo-cd):

- ``GET /api/version`` and ``GET /api/v1/session/userinfo`` need no token; userinfo answers
  ``{"loggedIn": true, "username": ...}`` for a good one and ``{}`` otherwise (200 either way);
- every other call needs ``Authorization: Bearer <token>`` (401 ``no session information`` /
  ``invalid session: ...``, gRPC code 16);
- an app that does not exist answers 403 ``permission denied`` (code 7) unless the request
  names a project, then 404 ``applications.argoproj.io "x" not found`` (code 5);
- a sync while an operation is pending or running answers 400 ``another operation is already
  in progress`` (FailedPrecondition, code 9); a terminate with nothing running answers 400
  ``Unable to terminate operation. No operation is in progress`` (InvalidArgument, code 3).

A sync sets the top-level ``operation`` (``status.operationState`` is cleared), the controller
"picks it up" after ``pickup`` seconds (phase ``Running``), ends it after ``run_seconds``
(``Succeeded``, the app ``Synced`` and ``Progressing``; or ``Failed`` if the app is told to
fail) and the app settles ``Healthy`` (or ``Degraded``, a crash-looping pod in its resource
tree, if told so) ``settle_seconds`` later. An app told ``pull_seconds`` first waits that long
on its image: its pod is ``ContainerCreating``, then backs off the pull (``ImagePullBackOff``:
the pod Degraded, and so the app, as gitops-engine's ``health_pod.go`` rates a Deployment's
pod whose container waits in ``*BackOff``). Terminate moves a running operation to
``Terminating`` and then ``Failed`` "Operation terminated". Every call is recorded; faults make
chosen calls slow, fail with a status, or answer malformed JSON.

``on_operation_end`` (default: nothing) is awaited with the app each time one of its operations
ends (``Succeeded`` or ``Failed``, seen when a request makes the fake catch up): the hook through
which a test couples the fake to the rest of a site (a synced app's CSCs start).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from integrations.argocd import ArgoCDClient

TOKEN = "argocd-test-token"  # noqa: S105  # a test value, not a secret
ROOT = "/argo-cd"
"""The Phalanx root path of ArgoCD (``https://<fqdn>/argo-cd``)."""
OPEN_PATHS = frozenset({f"{ROOT}/api/version", f"{ROOT}/api/v1/session/userinfo"})

ResourceState = Literal["synced", "modified", "missing", "extra"]


@dataclass
class Resource:
    """One resource an application manages, and how it compares with Git."""

    kind: str
    namespace: str
    name: str
    state: ResourceState = "synced"
    group: str = "apps"
    version: str = "v1"
    hook: bool = False

    def diff(self) -> dict[str, Any]:
        """As a ``ResourceDiff`` of ``managed-resources`` (``modified`` omitted when false)."""
        meta = {"name": self.name, "namespace": self.namespace}
        api = f"{self.group}/{self.version}" if self.group else self.version
        target = {"apiVersion": api, "kind": self.kind, "metadata": meta, "spec": {"tag": "new"}}
        tag = "new" if self.state == "synced" else "old"
        live = {
            "apiVersion": api,
            "kind": self.kind,
            "metadata": {**meta, "uid": "0c6f", "resourceVersion": "4711"},
            "spec": {"tag": tag},
            "status": {"observedGeneration": 3},
        }
        item: dict[str, Any] = {
            "group": self.group,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "liveState": "null" if self.state == "missing" else json.dumps(live),
            "targetState": "null" if self.state == "extra" else json.dumps(target),
            "normalizedLiveState": json.dumps(live),
            "predictedLiveState": json.dumps(target),
            "resourceVersion": "4711",
        }
        if self.state == "modified":
            item["modified"] = True
        if self.hook:
            item["hook"] = True
        return item


@dataclass
class FakeApp:
    """An Argo CD Application: its project, resources, health and operation."""

    name: str
    project: str
    resources: list[Resource]
    health: str = "Healthy"
    phase: str | None = None
    """``status.operationState.phase`` (``None``: no operationState)."""
    op_message: str = ""
    started_at: str = "2026-01-05T10:00:00Z"
    """``status.operationState.startedAt``: set when the controller picks an operation up."""
    operation: dict[str, Any] | None = None
    """The top-level ``operation``: set while one is pending or running."""
    degrade: bool = False
    """Its syncs settle Degraded (a pod crash-looping)."""
    fail: str | None = None
    """The next sync's operation fails with this message."""
    pull_seconds: float = 0.0
    """After a sync, its image takes this long to pull (the pod waits, then backs off)."""
    pod: str | None = None
    """The pod's ``Status Reason`` while it waits on its image (``None``: from the health)."""
    timeline: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    target_revision: str = "main"
    """``spec.source.targetRevision``: what a manifests request without a revision renders."""
    manifests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Revision (branch) -> the app's manifests rendered there; none given: a Deployment of
    ``IMAGE/<app>:<revision>`` at every revision."""

    def rendered(self, revision: str) -> list[dict[str, Any]] | None:
        """The manifests at ``revision`` (``None``: the repo-server cannot resolve it)."""
        if self.manifests:
            return self.manifests.get(revision)
        return [workload("Deployment", self.name, [f"{IMAGE}/{self.name}:{revision}"])]

    @property
    def sync(self) -> str:
        """``Synced`` when every (non-hook) resource matches Git."""
        states = {r.state for r in self.resources if not r.hook}
        return "Synced" if states <= {"synced"} else "OutOfSync"

    def advance(self, now: float) -> None:
        """Apply what the controller would have done by ``now``."""
        while self.timeline and self.timeline[0][0] <= now:
            _, change = self.timeline.pop(0)
            for key, value in change.items():
                if key == "settle_resources":
                    self._settle(prune=bool(value))
                else:
                    setattr(self, key, value)

    def _settle(self, *, prune: bool) -> None:
        kept = [r for r in self.resources if not (prune and r.state == "extra")]
        for resource in kept:
            if resource.state in {"modified", "missing"}:
                resource.state = "synced"
        self.resources = kept


@dataclass
class Call:
    """One request the client made."""

    method: str
    path: str
    """The raw (still encoded) path."""
    query: dict[str, str]
    authorization: str | None
    body: Any = None


@dataclass
class Fault:
    """Make matching calls misbehave: wait ``delay``, then answer ``status`` with ``body``."""

    method: str | None = None
    path: str = ""
    """A substring of the path (``""``: every path)."""
    status: int | None = 500
    """``None``: answer normally after the delay."""
    body: str | None = None
    """``None``: a gRPC-gateway error body for the status."""
    delay: float = 0.0
    times: int | None = 1
    """How many calls it hits (``None``: all)."""
    content_type: str = "application/json"
    acted: bool = False
    """The call is carried out first, then the delay and the answer: a request acted on whose
    answer is lost (the client times out, a proxy answers 504)."""


async def _nothing(_app: FakeApp) -> None:
    """The default :attr:`FakeArgoCD.on_operation_end`: a sync affects nothing outside."""


@dataclass
class FakeArgoCD:
    """The fake server's state and knobs."""

    token: str = TOKEN
    username: str = "upgrade-bot"
    apps: dict[str, FakeApp] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    pickup: float = 0.05
    run_seconds: float = 0.3
    settle_seconds: float = 0.3
    terminate_seconds: float = 0.05
    operations: int = 0
    """Sync operations recorded so far (each gets its own ``startedAt``)."""
    can_sync: bool = True
    """RBAC: ``sync`` on applications (else 403 ``permission denied: applications, sync...``)."""
    persist_health: bool = False
    """Resource health kept in ``status.resources`` (Argo CD v2) rather than the tree (v3)."""
    on_operation_end: Callable[[FakeApp], Awaitable[None]] = _nothing
    """Awaited with the app when one of its operations ends (Succeeded or Failed)."""
    nodes: int | None = None
    """Contention of image pulls: the apps' pods spread over this many nodes (in turn, as
    added), and each node pulls one image at a time, as the kubelet does by default
    (``serializeImagePulls: true``, kubernetes.io "Images": "the kubelet sends only one image
    pull request to the image service at a time"). ``None``: every pull runs at once."""
    _pulls_free: dict[int, float] = field(default_factory=dict)

    def add(self, name: str, project: str = "telescope", **kwargs: Any) -> FakeApp:
        """An app (one Deployment out of sync unless ``resources`` are given)."""
        resources = kwargs.pop("resources", [Resource("Deployment", name, name, "modified")])
        app = FakeApp(name=name, project=project, resources=resources, **kwargs)
        self.apps[name] = app
        return app

    def misbehave(self, **kwargs: Any) -> Fault:
        """Add a :class:`Fault`."""
        fault = Fault(**kwargs)
        self.faults.append(fault)
        return fault

    def of(self, method: str, path: str = "") -> list[Call]:
        """The calls with this method whose path contains ``path``."""
        return [c for c in self.calls if c.method == method and path in c.path]

    def app(self) -> web.Application:
        """The aiohttp application to serve (the API under ``/argo-cd``)."""
        api = web.Application()
        api.router.add_get("/api/version", self._version)
        api.router.add_get("/api/v1/session/userinfo", self._userinfo)
        api.router.add_get("/api/v1/applications", self._list)
        api.router.add_get("/api/v1/applications/{name}", self._get)
        api.router.add_get("/api/v1/applications/{name}/managed-resources", self._managed)
        api.router.add_get("/api/v1/applications/{name}/resource-tree", self._tree)
        api.router.add_get("/api/v1/applications/{name}/manifests", self._manifests)
        api.router.add_post("/api/v1/applications/{name}/sync", self._sync)
        api.router.add_delete("/api/v1/applications/{name}/operation", self._terminate)
        root = web.Application(middlewares=[self._middleware])
        root.add_subapp(ROOT, api)
        return root

    # --- plumbing ---

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await self._record(request)
        fault = self._fault_for(request)
        if fault is not None and not fault.acted:
            await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return _injected(fault)
            fault = None  # late, then answered normally
        if request.path not in OPEN_PATHS:
            refused = self._authenticate(request)
            if refused is not None:
                return refused
        now = time.monotonic()
        for app in self.apps.values():
            before = app.phase
            app.advance(now)
            if app.phase != before and app.phase in {"Succeeded", "Failed"}:
                await self.on_operation_end(app)
        response: web.StreamResponse = await handler(request)
        if fault is not None:  # acted on: then late, or another answer than its own
            await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return _injected(fault)
        return response

    async def _record(self, request: web.Request) -> None:
        """Keep the call (its body parsed when it is JSON)."""
        body: Any = None
        if request.body_exists:
            text = await request.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        self.calls.append(
            Call(
                request.method,
                request.raw_path.split("?")[0],
                dict(request.query),
                request.headers.get("Authorization"),
                body,
            )
        )

    def _fault_for(self, request: web.Request) -> Fault | None:
        """The first fault matching the call (counted as used)."""
        for fault in self.faults:
            if fault.times == 0:
                continue
            if fault.method not in {None, request.method} or fault.path not in request.path:
                continue
            if fault.times is not None:
                fault.times -= 1
            return fault
        return None

    def _authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization")
        if header is None:
            return grpc_error(401, 16, "no session information")
        if header != f"Bearer {self.token}":
            return grpc_error(401, 16, "invalid session: token signature is invalid")
        return None

    def _find(self, request: web.Request, project: str | None) -> FakeApp | web.Response:
        name = request.match_info["name"]
        app = self.apps.get(name)
        if app is None or (project and app.project != project):
            if project:
                return grpc_error(404, 5, f'applications.argoproj.io "{name}" not found')
            return grpc_error(403, 7, "permission denied")
        return app

    # --- handlers ---

    async def _version(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "Version": "v3.1.8+becb020",
                "BuildDate": "2025-09-30T15:05:34Z",
                "GoVersion": "go1.24.6",
            }
        )

    async def _userinfo(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({})
        return web.json_response({"loggedIn": True, "username": self.username, "iss": "argocd"})

    async def _list(self, request: web.Request) -> web.Response:
        projects = set(request.query.getall("projects", [])) | set(
            request.query.getall("project", [])
        )
        items = [
            self._application(app)
            for app in self.apps.values()
            if not projects or app.project in projects
        ]
        return web.json_response({"metadata": {"resourceVersion": "81234"}, "items": items or None})

    async def _get(self, request: web.Request) -> web.Response:
        found = self._find(request, _project(request))
        if isinstance(found, web.Response):
            return found
        return web.json_response(self._application(found))

    async def _managed(self, request: web.Request) -> web.Response:
        found = self._find(request, _project(request))
        if isinstance(found, web.Response):
            return found
        items = [r.diff() for r in found.resources if not r.hook]
        return web.json_response({"items": items})

    async def _tree(self, request: web.Request) -> web.Response:
        found = self._find(request, _project(request))
        if isinstance(found, web.Response):
            return found
        return web.json_response({"nodes": _nodes(found), "hosts": []})

    async def _manifests(self, request: web.Request) -> web.Response:
        """``GetManifests``: the manifests rendered at ``revision`` (default: the target).

        Each manifest is a JSON *text* (``ManifestResponse.manifests`` is ``repeated string``);
        a revision the repo-server cannot resolve is its gRPC Unknown error (HTTP 500), as
        ``reposerver/repository`` answers ``Unable to resolve ... to a commit SHA``.
        """
        found = self._find(request, _project(request))
        if isinstance(found, web.Response):
            return found
        revision = request.query.get("revision") or found.target_revision
        rendered = found.rendered(revision)
        if rendered is None:
            return grpc_error(
                500,
                2,
                f"rpc error: code = Unknown desc = Unable to resolve '{revision}' to a commit SHA",
            )
        return web.json_response(
            {
                "manifests": [json.dumps(m) for m in rendered],
                "namespace": found.name,
                "server": "https://kubernetes.default.svc",
                "revision": "0f3c9d2a" + str(len(revision)),
                "sourceType": "Helm",
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        body = await request.json()
        found = self._find(request, body.get("project") or None)
        if isinstance(found, web.Response):
            return found
        app = found
        if not self.can_sync:
            return grpc_error(
                403,
                7,
                f"permission denied: applications, sync, {app.project}/{app.name},"
                f" sub: {self.username}, iat: 2026-01-05T10:00:00Z",
            )
        if app.operation is not None:
            return grpc_error(400, 9, "another operation is already in progress")
        if body.get("dryRun"):
            return web.json_response(self._application(app))
        prune = bool(body.get("prune"))
        app.operation = {
            "sync": {"prune": prune, "revision": "a1b2c3d", "syncStrategy": {"hook": {}}},
            "initiatedBy": {"username": self.username},
        }
        app.phase, app.op_message = None, ""
        start = time.monotonic() + self.pickup
        ended = start + self.run_seconds
        self.operations += 1
        running: dict[str, Any] = {  # the controller's pickup (``setOperationState``)
            "phase": "Running",
            "op_message": "one or more tasks are running",
            "started_at": f"2026-01-05T11:{self.operations // 60:02d}:{self.operations % 60:02d}Z",
        }
        end: dict[str, Any]
        if app.fail is not None:
            end = {"phase": "Failed", "op_message": app.fail, "operation": None, "fail": None}
            app.timeline = [(start, running), (ended, end)]
        else:
            end = {
                "phase": "Succeeded",
                "op_message": "successfully synced (all tasks run)",
                "operation": None,
                "health": "Progressing",
                "settle_resources": prune,
            }
            settled = {"health": "Degraded" if app.degrade else "Healthy"}
            app.timeline = [(start, running), (ended, end)]
            if app.pull_seconds:  # ContainerCreating, then backing off, then pulled
                end["pod"] = "ContainerCreating"
                begins = self._pull_slot(app, ended)
                half, pulled = begins + app.pull_seconds / 2, begins + app.pull_seconds
                app.timeline += [
                    (half, {"pod": "ImagePullBackOff", "health": "Degraded"}),
                    (pulled, {"pod": None, "health": "Progressing"}),
                ]
                ended = pulled
            app.timeline.append((ended + self.settle_seconds, settled))
        return web.json_response(self._application(app))

    def _pull_slot(self, app: FakeApp, ready: float) -> float:
        """When the app's image pull begins: at once, or after the pulls queued on its node."""
        if self.nodes is None:
            return ready
        node = list(self.apps).index(app.name) % self.nodes
        begins = max(ready, self._pulls_free.get(node, ready))
        self._pulls_free[node] = begins + app.pull_seconds
        return begins

    async def _terminate(self, request: web.Request) -> web.Response:
        found = self._find(request, _project(request))
        if isinstance(found, web.Response):
            return found
        app = found
        if app.operation is None or app.phase is None:
            # Also while pending: the server needs both ``operation`` and ``operationState``.
            return grpc_error(400, 3, "Unable to terminate operation. No operation is in progress")
        now = time.monotonic()
        app.phase = "Terminating"
        app.timeline = [
            (
                now + self.terminate_seconds,
                {"phase": "Failed", "op_message": "Operation terminated", "operation": None},
            )
        ]
        return web.json_response({})

    def _application(self, app: FakeApp) -> dict[str, Any]:
        """The Application as the API renders it."""
        resources = []
        for r in app.resources:
            if r.hook:
                continue
            entry: dict[str, Any] = {
                "group": r.group,
                "version": r.version,
                "kind": r.kind,
                "namespace": r.namespace,
                "name": r.name,
                "status": "Synced" if r.state == "synced" else "OutOfSync",
            }
            if self.persist_health:
                entry["health"] = _health(app, r)
            resources.append(entry)
        status: dict[str, Any] = {
            "sync": {"status": app.sync, "revision": "a1b2c3d"},
            "health": {"status": app.health, "lastTransitionTime": "2026-01-05T10:00:00Z"},
            "resources": resources,
            "resourceHealthSource": "" if self.persist_health else "appTree",
            "reconciledAt": "2026-01-05T10:00:00Z",
        }
        if app.phase is not None:
            status["operationState"] = {
                "phase": app.phase,
                "message": app.op_message,
                "startedAt": app.started_at,
                "operation": app.operation or {"sync": {"revision": "a1b2c3d"}},
            }
        doc: dict[str, Any] = {
            "metadata": {"name": app.name, "namespace": "argocd", "resourceVersion": "81234"},
            "spec": {
                "project": app.project,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": app.name},
            },
            "status": status,
        }
        if app.operation is not None:
            doc["operation"] = app.operation
        return doc


def _injected(fault: Fault) -> web.Response:
    """A fault's own answer (its body, or a gRPC-gateway error body for its status)."""
    assert fault.status is not None
    text = fault.body
    if text is None:
        text = json.dumps(_error_body(13, f"fault injected: HTTP {fault.status}"))
    return web.Response(status=fault.status, text=text, content_type=fault.content_type)


def grpc_error(http: int, code: int, message: str) -> web.Response:
    """An error as grpc-gateway v1 renders a gRPC status (``runtimeError``)."""
    return web.json_response(_error_body(code, message), status=http)


def _error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": message, "code": code, "message": message, "details": []}


def _project(request: web.Request) -> str | None:
    return request.query.get("project") or request.query.get("projects") or None


def _pod(app: FakeApp) -> str:
    return f"{app.name}-7f9c4d-x2x9z"


def _health(app: FakeApp, resource: Resource) -> dict[str, str]:
    if app.pod is not None:  # the rollout waits on its pod
        said = "Waiting for rollout to finish: 0 of 1 updated replicas are available..."
        return {"status": "Progressing", "message": said}
    if app.health == "Degraded" and resource.kind == "Deployment":
        return {
            "status": "Degraded",
            "message": f'Deployment "{resource.name}" exceeded its progress deadline',
        }
    return {"status": "Progressing" if app.health == "Progressing" else "Healthy"}


def _nodes(app: FakeApp) -> list[dict[str, Any]]:
    """The resource tree: the managed resources, and a pod under each Deployment."""
    nodes: list[dict[str, Any]] = []
    for r in app.resources:
        if r.state == "missing" or r.hook:
            continue
        ref = {"group": r.group, "version": r.version, "kind": r.kind}
        ref |= {"namespace": r.namespace, "name": r.name, "uid": f"uid-{r.name}"}
        nodes.append({**ref, "health": _health(app, r)})
        if r.kind == "Deployment":
            nodes.append(_pod_node(app, r.namespace, ref))
    return nodes


IMAGE = "ts-dockerhub.lsst.org"


def workload(kind: str, name: str, images: list[str], init: tuple[str, ...] = ()) -> dict[str, Any]:
    """A rendered workload manifest (Deployment, Job, StatefulSet, DaemonSet, CronJob)."""
    pod: dict[str, Any] = {
        "containers": [{"name": f"c{n}", "image": image} for n, image in enumerate(images)]
    }
    if init:
        pod["initContainers"] = [{"name": f"i{n}", "image": image} for n, image in enumerate(init)]
    template = {"metadata": {"labels": {"app": name}}, "spec": pod}
    spec: dict[str, Any] = {"template": template}
    if kind == "CronJob":
        spec = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    group = "batch/v1" if kind in {"Job", "CronJob"} else "apps/v1"
    meta = {"name": name, "namespace": name, "labels": {"argocd.argoproj.io/instance": name}}
    return {"apiVersion": group, "kind": kind, "metadata": meta, "spec": spec}


def _pod_node(app: FakeApp, namespace: str, parent: dict[str, Any]) -> dict[str, Any]:
    """The Deployment's pod as a ``ResourceNode``, its ``info`` as ``populatePodInfo`` fills it."""
    reason, ready, health = _pod_state(app)
    return {
        "version": "v1",
        "kind": "Pod",
        "namespace": namespace,
        "name": _pod(app),
        "uid": f"uid-{_pod(app)}",
        "parentRefs": [parent],
        "info": [
            {"name": "Status Reason", "value": reason},
            {"name": "Node", "value": "yagan-worker-3"},
            {"name": "Containers", "value": f"{ready}/1"},
            {"name": "cpu", "value": "250"},
            {"name": "memory", "value": "268435456000"},
        ],
        "networkingInfo": {"labels": {"app": app.name}},
        "images": [f"{IMAGE}/{app.name}:c0040"],
        "health": health,
        "createdAt": "2026-01-05T10:00:00Z",
    }


def _pod_state(app: FakeApp) -> tuple[str, int, dict[str, str]]:
    """The pod's ``Status Reason``, ready containers and health (``populatePodInfo``).

    A pod backing off its image is Degraded with the kubelet's waiting message; one being
    created is Progressing with no message; a crash-looping one Degraded.
    """
    if app.pod == "ImagePullBackOff":
        said = f'Back-off pulling image "{IMAGE}/{app.name}:c0040"'
        return app.pod, 0, {"status": "Degraded", "message": said}
    if app.pod is not None:
        return app.pod, 0, {"status": "Progressing"}
    if app.health == "Degraded":
        said = f"back-off 40s restarting failed container=csc pod={_pod(app)}"
        return "CrashLoopBackOff", 0, {"status": "Degraded", "message": said}
    if app.health == "Progressing":
        return "Running", 0, {"status": "Progressing"}
    return "Running", 1, {"status": "Healthy"}


@asynccontextmanager
async def served(fake: FakeArgoCD) -> AsyncIterator[ArgoCDClient]:
    """The real client, talking to ``fake`` served on loopback (closed on exit)."""
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    client = ArgoCDClient(
        url=f"http://127.0.0.1:{server.port}{ROOT}", token=SecretStr(TOKEN), timeout=2.0
    )
    try:
        yield client
    finally:
        await client.aclose()
        await server.close()
