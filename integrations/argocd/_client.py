"""ArgoCD: applications, their sync and health, diffs, syncs (REST, bearer token).

:class:`ArgoCDClient` talks to the Argo CD v3 API server through its REST gateway, as
published in argoproj/argo-cd ``assets/swagger.json`` (``ApplicationService``,
``VersionService``, ``SessionService``) and implemented in ``server/application/application.go``
(checked on master, 2026; Phalanx deploys argo-helm chart 10.x, i.e. Argo CD v3).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus

from pydantic import SecretStr

from integrations.argocd._interface import AppStatus, Pod
from integrations.errors import IntegrationError, NoAnswer
from integrations.http import (
    RETRY_STATUSES,
    Answer,
    BearerApi,
    body_message,
    items,
    obj,
    segment,
    string,
)
from integrations.images import AppImages, images_of

_IN_PROGRESS = frozenset({"Running", "Terminating"})
"""Operation phases that have not ended (``Terminating`` ends as ``Failed``)."""
_ANOTHER_OPERATION = "another operation is already in progress"
"""``util/argo/argo.go`` ``ErrAnotherOperationInProgress`` (gRPC FailedPrecondition: HTTP 400)."""
_NO_OPERATION = "No operation is in progress"
"""``TerminateOperation``'s InvalidArgument (HTTP 400) when there is nothing to terminate."""
_CAUSES = 3
"""Degraded resources named in a message (ArgoCD's own ``maxHealthCausesShown``)."""


@dataclass(frozen=True, slots=True)
class _Operation:
    """An application's operation as last read: one in progress, and the last one's start."""

    running: bool
    started_at: str
    """``status.operationState.startedAt`` (``""``: no operation ever recorded)."""


class ArgoCDClient:
    """One site's ArgoCD API server, over its REST (gRPC-gateway) API with a bearer token.

    Follows the Argo CD v3 API (``assets/swagger.json``, ``server/application/application.go``
    of argoproj/argo-cd, master of 2026; Phalanx runs argo-helm chart 10.x, Argo CD v3):

    - ``GET /api/v1/applications?projects=P`` (``items[].metadata.name``);
    - ``GET /api/v1/applications/{name}``: ``status.sync.status``, ``status.health``,
      ``status.operationState.{phase,message}`` and the top-level ``operation``, which is set
      while an operation is pending or running and cleared by the controller in the same patch
      that records the operation's end (``controller/appcontroller.go`` ``setOperationState``);
    - ``GET /api/v1/applications/{name}/managed-resources``: ``ResourceDiff`` items;
    - ``GET /api/v1/applications/{name}/resource-tree``: ``ApplicationTree`` (the pods);
    - ``GET /api/v1/applications/{name}/manifests?revision=R``: ``GetManifests``
      (``ApplicationManifestQuery`` -> ``repository.ManifestResponse``), the app's manifests
      rendered at a revision, ``manifests`` a list of JSON texts;
    - ``POST /api/v1/applications/{name}/sync`` ``{"name", "prune", "dryRun"}``: answers the
      Application once the operation is recorded (the controller runs it afterwards);
    - ``DELETE /api/v1/applications/{name}/operation``: the phase becomes ``Terminating``, then
      ``Failed`` with "Operation terminated";
    - ``GET /api/version`` (no authentication) and ``GET /api/v1/session/userinfo``.

    Errors are gRPC statuses rendered by grpc-gateway v1: HTTP 400/401/403/404/5xx with
    ``{"error": m, "code": c, "message": m, "details": []}``. Two facts of the real server the
    messages account for: without a project in the request, an application that does not exist
    answers **403 "permission denied"**, not 404 (``getAppEnforceRBAC``: not leaking which apps
    exist); and an invalid token on ``session/userinfo`` answers 200 with ``loggedIn`` absent,
    so :meth:`ping` reads that field. The token is an ArgoCD account's API token (``apiKey``
    capability) with ``get`` and ``sync`` on the applications of the projects the bot syncs.
    """

    system = "ArgoCD"

    def __init__(
        self,
        *,
        url: str,
        token: SecretStr,
        timeout: float = 30.0,
        retries: int = 2,
        retry_delay: float = 1.0,
    ) -> None:
        """``url`` is the server's root path, ``https://<fqdn>/argo-cd``.

        ``timeout`` bounds every call (seconds, whole request); a GET that met a refused
        connection or a 502/503/504 is tried ``retries`` more times, ``retry_delay`` apart
        (growing). Nothing else is repeated: a sync or a terminate is sent once.
        """
        self._api = BearerApi(
            system="ArgoCD",
            url=url,
            token=token,
            headers={"Accept": "application/json"},
            timeout=timeout,
            retries=retries,
            retry_delay=retry_delay,
            unreachable="the server",
            failure=self._failure,
            malformed_hint="is the URL the ArgoCD root path?",
        )
        self.host = self._api.host
        self._mine: set[str] = set()
        """Apps whose sync this client started and has not yet seen end (for :meth:`cancel`)."""

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        await self._api.aclose()

    # --- the ArgoCD interface ---

    async def ping(self) -> None:
        """The server answers (``/api/version``) and takes the token (``session/userinfo``).

        ``userinfo`` is the cheapest authenticated read, and it never fails on a bad token: it
        says ``loggedIn`` only for a valid one, which is what we check.
        """
        version = await self._api.get_object("/api/version", auth=False)
        if not isinstance(version.get("Version"), str):
            raise self._api.malformed("GET /api/version", 200, json.dumps(version), "no Version")
        info = await self._api.get_object("/api/v1/session/userinfo")
        if info.get("loggedIn") is not True:
            raise self._api.error(
                "the token was not accepted (session/userinfo: not logged in): it is expired,"
                " revoked or not an ArgoCD account token; create a new one",
                status=401,
                text=json.dumps(info),
            )

    async def apps(self, project: str) -> list[str]:
        """The names of the project's applications, sorted."""
        listing = await self._api.get_object("/api/v1/applications", params={"projects": project})
        names = {
            string(obj(obj(item).get("metadata")).get("name"))
            for item in items(listing.get("items"))
        }
        return sorted(name for name in names if name)

    async def status(self, app: str) -> AppStatus:
        """The application's sync, health and operation.

        ``operation`` is ``Running`` while the operation is pending (accepted, not yet picked
        up by the controller), running or terminating: those are the states the runner must
        keep waiting through (an accepted sync still shows the app's old sync and health).
        ``message`` is the operation's message, or for a Degraded app the degraded resources
        with their health messages (read from the resource tree when the app does not carry
        them, the Argo CD v3 default).
        """
        doc = await self._api.get_object(f"/api/v1/applications/{segment(app)}")
        status = obj(doc.get("status"))
        sync = string(obj(status.get("sync")).get("status")) or "Unknown"
        health = obj(status.get("health"))
        health_status = string(health.get("status")) or "Unknown"
        state = obj(status.get("operationState"))
        phase = string(state.get("phase")) or None
        message = string(state.get("message"))
        if doc.get("operation") is not None or phase in _IN_PROGRESS:
            operation: str | None = "Running"
            if phase is None:
                message = "sync accepted, waiting for the application controller"
            elif phase == "Terminating":
                message = f"terminating{': ' + message if message else ''}"
        else:
            operation = phase
            self._mine.discard(app)
        if operation not in {"Running", "Failed", "Error"} and health_status == "Degraded":
            message = string(health.get("message")) or await self._degraded(app, status)
        return AppStatus(
            name=app, sync=sync, health=health_status, operation=operation, message=message
        )

    async def diff(self, app: str) -> list[str]:
        """The resources out of sync, ``Kind namespace/name`` (``Kind name`` if cluster-wide).

        ``managed-resources`` has no per-resource sync status; we apply the controller's own
        rule (``controller/state.go``, ``CompareAppState``): a resource is OutOfSync when its
        ``modified`` flag is set (live differs from target after normalisation), when it is
        missing (``liveState`` is ``"null"``: the sync creates it) or when it is extra
        (``targetState`` is ``"null"``: only a pruning sync deletes it). Comparing the raw
        ``liveState`` and ``targetState`` texts would flag everything (status, defaults).
        Hooks are left out, as the server does.
        """
        doc = await self._api.get_object(f"/api/v1/applications/{segment(app)}/managed-resources")
        lines: list[str] = []
        for raw in items(doc.get("items")):
            item = obj(raw)
            if item.get("hook") is True:
                continue
            missing = item.get("liveState") == "null"
            extra = item.get("targetState") == "null"
            if item.get("modified") is True or missing or extra:
                lines.append(_resource(item))
        return lines

    async def pods(self, app: str) -> list[Pod]:
        """The app's pods from ``GET .../resource-tree`` (``ApplicationTree.nodes``).

        A node is a ``ResourceNode`` (``pkg/apis/application/v1alpha1/types.go``): the
        ``ResourceRef`` fields inline (``group``, ``version``, ``kind``, ``namespace``,
        ``name``, ``uid``), ``parentRefs``, ``info`` (``[{"name", "value"}]``), ``images``,
        ``health`` (``{"status", "message"}``); a pod's ``info`` holds ``Status Reason``,
        ``Node``, ``Containers`` and, after restarts, ``Restart Count``.
        """
        tree = await self._api.get_object(f"/api/v1/applications/{segment(app)}/resource-tree")
        pods = []
        for node in map(obj, items(tree.get("nodes"))):
            if string(node.get("kind")) != "Pod" or string(node.get("group")):
                continue
            info = {
                string(obj(i).get("name")): string(obj(i).get("value"))
                for i in items(node.get("info"))
            }
            health = obj(node.get("health"))
            pods.append(
                Pod(
                    namespace=string(node.get("namespace")),
                    name=string(node.get("name")),
                    reason=info.get("Status Reason", "") or "Unknown",
                    containers=info.get("Containers", ""),
                    health=string(health.get("status")),
                    message=string(health.get("message")),
                )
            )
        return sorted(pods, key=lambda pod: (pod.namespace, pod.name))

    async def images(self, app: str, revision: str | None) -> AppImages:
        """The images of the app's manifests rendered at ``revision`` (``GetManifests``).

        ``ManifestResponse.manifests`` is ``repeated string`` (each a JSON text) in
        ``reposerver/repository/repository.proto`` as read at argo-cd 5d3af31; another stored
        version of that file (0091c74) has ``repeated Manifest`` with the text in
        ``compiledManifest``, so both shapes are read. A manifest that is not a JSON object is
        a malformed answer, not skipped: an image left out silently would just not be
        pre-pulled, but a server answering garbage should be said.
        """
        path = f"/api/v1/applications/{segment(app)}/manifests"
        params = {"revision": revision} if revision else None
        doc = await self._api.get_object(path, params=params)
        manifests: list[dict[str, object]] = []
        for raw in items(doc.get("manifests")):
            text = raw if isinstance(raw, str) else string(obj(raw).get("compiledManifest"))
            try:
                manifest = json.loads(text)
            except ValueError:
                manifest = None
            if not isinstance(manifest, dict):
                raise self._api.malformed(
                    f"GET {path}", 200, text[:200], "a manifest is not a JSON object"
                )
            manifests.append(manifest)
        return AppImages(app, images_of(manifests))

    async def sync(self, app: str, *, prune: bool) -> bool:
        """Ask for a sync unless one is in progress; ``True`` when this call started it.

        The app is read first: an operation already pending or running (a sync whose request
        timed out on an earlier attempt, one started by hand in the UI) is followed, not doubled
        (the server would refuse a second one: ``ErrAnotherOperationInProgress``). A request
        that was sent but got no answer (timed out, dropped, a gateway's 502/503/504) may have
        been acted on: the server records the operation before it answers (``util/argo/argo.go``
        ``SetAppOperation`` sets ``operation`` and clears ``status.operationState`` in one
        update), so the app is read again, and a new operation (pending, running, or one that
        started since: a new ``startedAt``) means the sync was recorded. Only when none is there
        is the error raised, saying so; a Retry reads the app first again.
        """
        before = await self._operation(app)
        if before.running:
            return False
        path = f"/api/v1/applications/{segment(app)}/sync"
        what = f"POST {path}"
        body = {"name": app, "prune": prune, "dryRun": False}
        try:
            answer = await self._api.send("POST", path, body=body)
        except NoAnswer as exc:
            return await self._recorded(app, before, exc)
        status, text = answer.status, answer.text
        if status in RETRY_STATUSES:
            return await self._recorded(app, before, self._failure(what, answer))
        if status == HTTPStatus.BAD_REQUEST and _ANOTHER_OPERATION in text:
            return False  # someone started one since we looked: follow it
        if status >= HTTPStatus.BAD_REQUEST:
            raise self._failure(what, answer)
        self._mine.add(app)
        self._api.parse(what, answer, "object")
        return True

    async def _operation(self, app: str) -> _Operation:
        """Whether an operation is pending or running on the app, and when the last started."""
        doc = await self._api.get_object(f"/api/v1/applications/{segment(app)}")
        state = obj(obj(doc.get("status")).get("operationState"))
        running = doc.get("operation") is not None or string(state.get("phase")) in _IN_PROGRESS
        return _Operation(running=running, started_at=string(state.get("startedAt")))

    async def _recorded(self, app: str, before: _Operation, unanswered: IntegrationError) -> bool:
        """After a sync request with no answer: ``True`` if ArgoCD recorded it, else raise."""
        try:
            after = await self._operation(app)
        except IntegrationError as exc:
            raise NoAnswer(
                self.system,
                f"{unanswered.message}; the sync of {app} may have started, and reading the app"
                f" failed ({exc.message}): a Retry looks again before syncing",
                host=self.host,
                status=unanswered.status,
                detail=unanswered.detail,
            ) from exc
        if after.running or after.started_at != before.started_at:
            self._mine.add(app)
            return True
        raise IntegrationError(
            self.system,
            f"{unanswered.message}; ArgoCD shows no new operation on {app}: the sync was not"
            " started, a Retry starts it",
            host=self.host,
            status=unanswered.status,
            detail=unanswered.detail,
        )

    async def terminate(self, app: str) -> None:
        """Terminate the app's running operation; nothing to terminate is not an error.

        ArgoCD marks the operation ``Terminating`` and answers; the controller stops it and
        records ``Failed`` "Operation terminated" shortly after. An operation accepted but not
        yet picked up by the controller cannot be terminated (the server wants an
        ``operationState``: "No operation is in progress"), so while the app still shows one
        pending we ask again, ``retry_delay`` apart, for up to ``timeout`` seconds.
        """
        path = f"/api/v1/applications/{segment(app)}/operation"
        deadline = asyncio.get_running_loop().time() + self._api.timeout
        while True:
            answer = await self._api.send("DELETE", path)
            status, text = answer.status, answer.text
            if status == HTTPStatus.BAD_REQUEST and _NO_OPERATION in text:
                pending = await self._api.get_object(f"/api/v1/applications/{segment(app)}")
                now = asyncio.get_running_loop().time()
                if pending.get("operation") is not None and now < deadline:
                    await asyncio.sleep(min(self._api.retry_delay, deadline - now))
                    continue
                break
            if status >= HTTPStatus.BAD_REQUEST:
                raise self._failure(f"DELETE {path}", answer)
            break
        self._mine.discard(app)

    async def cancel(self) -> None:
        """Terminate every sync this client started that is still running.

        Each app is looked at first, so an app whose sync ended (and that someone else may be
        syncing now) is left alone. Every app is tried; failures are reported together.
        """
        failures: list[str] = []
        for app in sorted(self._mine):
            try:
                if (await self.status(app)).operation == "Running":
                    await self.terminate(app)
            except IntegrationError as exc:
                failures.append(f"{app}: {exc}")
        if failures:
            raise IntegrationError(
                self.system, f"could not terminate {'; '.join(failures)}", host=self.host
            )

    async def _degraded(self, app: str, status: dict[str, object]) -> str:
        """The Degraded resources and their messages, as ``Kind ns/name: message``."""
        causes = [
            item
            for item in map(obj, items(status.get("resources")))
            if string(obj(item.get("health")).get("status")) == "Degraded"
        ]
        if not any(string(obj(c.get("health")).get("message")) for c in causes):
            try:
                tree = await self._api.get_object(
                    f"/api/v1/applications/{segment(app)}/resource-tree"
                )
            except IntegrationError:
                return ", ".join(_resource(c) for c in causes[:_CAUSES])
            causes = [
                node
                for node in map(obj, items(tree.get("nodes")))
                if string(obj(node.get("health")).get("status")) == "Degraded"
            ]
            # The pods say why (back-off, image pull) where their Deployment only times out.
            causes.sort(key=lambda node: node.get("kind") != "Pod")
        parts = []
        for cause in causes[:_CAUSES]:
            said = string(obj(cause.get("health")).get("message"))
            parts.append(_resource(cause) + (f": {said}" if said else ""))
        more = f" and {len(causes) - _CAUSES} more" if len(causes) > _CAUSES else ""
        return "; ".join(parts) + more

    # --- errors ---

    def _failure(self, what: str, answer: Answer) -> IntegrationError:
        """The error for an HTTP error status, with the server's gRPC message."""
        said = body_message(answer.text, "message", "error")
        return self._api.refused(
            what,
            answer,
            said=said,
            unauthorized=f"the token was refused ({said or 'unauthenticated'}): create a new one",
            forbidden=(
                f"{said or 'permission denied'} (the token's account lacks this right,"
                " or the application does not exist)"
            ),
        )


def _resource(item: dict[str, object]) -> str:
    """``Kind namespace/name``, or ``Kind name`` for a cluster-wide resource."""
    kind, namespace, name = (string(item.get(k)) for k in ("kind", "namespace", "name"))
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
