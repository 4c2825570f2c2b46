"""The fake API server's DaemonSets, with the controller and kubelets that make their pods.

What :class:`tests.support.fakes.kube.FakeKube` adds for the pre-pull, as kube-apiserver and
the cluster behave (Kubernetes API reference; ``pkg/apis/apps/validation``):

- ``POST /apis/apps/v1/namespaces/{ns}/daemonsets``: 201 with the object (``uid``,
  ``generation``, ``status``); 409 ``AlreadyExists`` for a name taken; 422 ``Invalid`` when the
  selector does not match the template's labels or two containers share a name; ``GET`` and
  ``PUT .../daemonsets/{name}`` (a replace: the pods are recreated with the new template, as
  the rolling update would); ``DELETE`` is FakeKube's (the pods are removed with it);
- the DaemonSet controller: one pod per node in :attr:`FakeDaemons.nodes`, labelled with the
  template's labels, ``ownerReferences`` to the DaemonSet (``controller: true``),
  ``spec.nodeName`` set;
- the kubelets: each pod's ``status`` follows :attr:`FakeDaemons.pulls` (per image, and per
  node in :attr:`FakeDaemons.node_pulls`): init containers in order, ``terminated`` exit 0 when
  pulled, ``waiting`` with the reason (``ErrImagePull``, ``ImagePullBackOff``...) and the
  kubelet's message when not, the ones after it ``waiting: PodInitializing``; all pulled, the
  pod is ``Running`` with its main container running. Recomputed at every read, so a test
  changes :attr:`pulls` and the next list shows it;
- ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``: ``status.allowed`` for the
  caller's token (the read-only token may only get and list; :attr:`FakeDaemons.denied` takes
  rights away from the full one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.support.fakes.kube import FakeKube

BASE = "/apis/apps/v1/namespaces/{ns}/daemonsets"


def status(code: int, reason: str, message: str, **details: str) -> web.Response:
    """A ``Status`` failure object, as kube-apiserver answers errors."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return web.json_response(body, status=code)


MESSAGES = {
    "ErrImagePull": 'rpc error: code = NotFound desc = failed to pull and unpack image "{image}"',
    "ImagePullBackOff": 'Back-off pulling image "{image}"',
}


@dataclass
class FakeDaemons:
    """The nodes, and how each image pulls on them."""

    nodes: tuple[str, ...] = ("yagan01", "yagan02", "yagan03")
    pulls: dict[str, str] = field(default_factory=dict)
    """Image -> ``pulled`` (the default), ``pulling``, or a waiting reason (a failure)."""
    node_pulls: dict[str, dict[str, str]] = field(default_factory=dict)
    """Node -> image -> outcome, over :attr:`pulls`."""
    denied: set[tuple[str, str]] = field(default_factory=set)
    """(verb, resource) the full token's account lacks."""
    _read_only: str = ""

    def serve(self, app: web.Application, kube: FakeKube, *, read_only: str) -> None:
        """Add the routes (before FakeKube's generic ones); ``read_only``: the token that reads."""
        self._read_only = read_only

        async def create(request: web.Request) -> web.Response:
            return self._create(kube, request.match_info["ns"], await request.json())

        async def read(request: web.Request) -> web.Response:
            found = self._find(kube, request)
            return found if isinstance(found, web.Response) else web.json_response(found)

        async def replace(request: web.Request) -> web.Response:
            found = self._find(kube, request)
            if isinstance(found, web.Response):
                return found
            return self._replace(kube, found, await request.json())

        async def review(request: web.Request) -> web.Response:
            return self._review(kube, request, await request.json())

        app.router.add_post(BASE, create)
        app.router.add_get(BASE + "/{name}", read)
        app.router.add_put(BASE + "/{name}", replace)
        app.router.add_post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)

    # -- the API ------------------------------------------------------------------------

    def _invalid(self, body: dict[str, Any]) -> str | None:
        spec = body.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            return "spec.template.metadata.labels: Invalid value: `selector` does not match"
        pod = (spec.get("template") or {}).get("spec") or {}
        names = [c["name"] for key in ("initContainers", "containers") for c in pod.get(key, [])]
        if len(set(names)) != len(names) or not pod.get("containers"):
            return "spec.template.spec.containers: Duplicate value or none"
        return None

    def _create(self, kube: FakeKube, ns: str, body: dict[str, Any]) -> web.Response:
        name = body["metadata"]["name"]
        if (ns, name) in kube.objects.get("daemonsets", {}):
            return status(
                409, "AlreadyExists", f'daemonsets.apps "{name}" already exists', name=name
            )
        invalid = self._invalid(body)
        if invalid:
            return status(422, "Invalid", f'DaemonSet.apps "{name}" is invalid: {invalid}')
        if ns not in kube.namespaces:
            return status(404, "NotFound", f'namespaces "{ns}" not found', kind="namespaces")
        meta = {
            **body["metadata"],
            "namespace": ns,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "generation": 1,
        }
        obj = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta, "spec": body["spec"]}
        kube.objects.setdefault("daemonsets", {})[ns, name] = obj
        self._make_pods(kube, obj)
        return web.json_response(self._shown(kube, obj), status=201)

    def _find(self, kube: FakeKube, request: web.Request) -> dict[str, Any] | web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        found = kube.objects.get("daemonsets", {}).get((ns, name))
        if found is None:
            return status(404, "NotFound", f'daemonsets.apps "{name}" not found', name=name)
        return self._shown(kube, found)

    def _replace(self, kube: FakeKube, found: dict[str, Any], body: dict[str, Any]) -> web.Response:
        invalid = self._invalid(body)
        if invalid:
            return status(422, "Invalid", f"DaemonSet.apps is invalid: {invalid}")
        meta = found["metadata"]
        obj = kube.objects["daemonsets"][meta["namespace"], meta["name"]]
        obj["spec"] = body["spec"]
        obj["metadata"]["generation"] += 1
        self._drop_pods(kube, meta["uid"])
        self._make_pods(kube, obj)
        return web.json_response(self._shown(kube, obj))

    def _review(self, kube: FakeKube, request: web.Request, body: dict[str, Any]) -> web.Response:
        attributes = body["spec"]["resourceAttributes"]
        verb, resource = attributes["verb"], attributes["resource"]
        read_only = request.headers.get("Authorization") == f"Bearer {self._read_only}"
        allowed = (verb in {"get", "list"} or not read_only) and (verb, resource) not in self.denied
        said: dict[str, Any] = {"allowed": allowed}
        if not allowed:
            said["reason"] = ""
        answer = {**body, "status": said}
        kube.calls[-1].body = body
        return web.json_response(answer, status=201)

    # -- the controller and the kubelets ------------------------------------------------

    def _shown(self, kube: FakeKube, obj: dict[str, Any]) -> dict[str, Any]:
        pods = self._pods(kube, obj["metadata"]["uid"])
        ready = sum(1 for pod in pods if pod["status"]["phase"] == "Running")
        obj["status"] = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": len(self.nodes),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": obj["metadata"]["generation"],
        }
        return obj

    def _pods(self, kube: FakeKube, uid: str) -> list[dict[str, Any]]:
        pods = kube.objects.get("pods", {}).values()
        owned = [
            pod
            for pod in pods
            if any(o["uid"] == uid for o in pod["metadata"].get("ownerReferences", []))
        ]
        for pod in owned:
            pod["status"] = self._status(pod)
        return owned

    def refresh(self, kube: FakeKube) -> None:
        """The kubelets report: every pre-pull pod's status as :attr:`pulls` says now."""
        for obj in kube.objects.get("daemonsets", {}).values():
            self._pods(kube, obj["metadata"]["uid"])

    def _make_pods(self, kube: FakeKube, obj: dict[str, Any]) -> None:
        meta, template = obj["metadata"], obj["spec"]["template"]
        for node in self.nodes:
            name = f"{meta['name']}-{uuid.uuid4().hex[:5]}"
            pod = kube.add("pods", meta["namespace"], name, dict(template["metadata"]["labels"]))
            pod["spec"] = {**template["spec"], "nodeName": node}
            pod["metadata"]["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            pod["status"] = self._status(pod)

    def _drop_pods(self, kube: FakeKube, uid: str) -> None:
        pods = kube.objects.get("pods", {})
        for key in [k for k, p in pods.items() if p in self._pods(kube, uid)]:
            del pods[key]

    def _status(self, pod: dict[str, Any]) -> dict[str, Any]:
        spec = pod["spec"]
        plan = {**self.pulls, **self.node_pulls.get(spec["nodeName"], {})}
        statuses: list[dict[str, Any]] = []
        blocked = False
        for container in spec.get("initContainers", []):
            image = container["image"]
            outcome = "pulled" if blocked else plan.get(image, "pulled")
            base = {"name": container["name"], "image": image, "ready": False, "restartCount": 0}
            if blocked or outcome == "pulling":
                base["state"] = {"waiting": {"reason": "PodInitializing"}}
                blocked = True
            elif outcome == "pulled":
                base["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
                base["imageID"] = f"{image}@sha256:{'0' * 64}"
            else:
                said = MESSAGES.get(outcome, "{image}").format(image=image)
                base["state"] = {"waiting": {"reason": outcome, "message": said}}
                blocked = True
            statuses.append(base)
        main = [
            {
                "name": c["name"],
                "image": c["image"],
                "ready": not blocked,
                "restartCount": 0,
                "state": {"waiting": {"reason": "PodInitializing"}}
                if blocked
                else {"running": {"startedAt": "2026-03-10T03:05:00Z"}},
            }
            for c in spec["containers"]
        ]
        return {
            "phase": "Pending" if blocked else "Running",
            "initContainerStatuses": statuses,
            "containerStatuses": main,
        }
