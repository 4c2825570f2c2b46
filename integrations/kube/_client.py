"""The real :class:`Cluster`: :class:`KubeCluster`, which proves the cluster and cleans it up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from kubernetes.client import ApiClient, CoreV1Api, V1DeleteOptions, V1ObjectMeta, VersionApi
from pydantic import SecretStr

from integrations.base import Report
from integrations.errors import IntegrationError
from integrations.kube import _daemonset
from integrations.kube._api import SYSTEM, KubeApi
from integrations.kube._cleanup import KINDS, PROPAGATION, Listing, cleanup_listings
from integrations.kube._interface import Deletion
from integrations.kube._prepull import Prepull, PrepullState


class KubeCluster:
    """The site's Kubernetes API server, through the official ``kubernetes`` Python client.

    The client follows the Kubernetes API as the ``kubernetes`` package (37.x, API release
    1.37) calls it: ``core/v1`` namespaces, ``batch/v1`` jobs, ``apps/v1`` deployments and
    daemonsets, ``autoscaling/v2`` horizontalpodautoscalers (what kubectl's ``hpa`` resolves to
    on current clusters), ``GET /version``. What it deletes is lsst-ts/k8s-admin's
    ``cleanup_all`` / ``cleanup_nublado`` (``helpers.py``: ``STANDARD_NAMESPACES``,
    ``API_MAPPING``); see :func:`cleanup_listings` and :data:`PROPAGATION`.

    The package is blocking (urllib3), so every call runs on this client's own thread pool
    (sized for :attr:`parallel` deletions plus reads, so it never starves the event loop's
    default executor) with ``_request_timeout=(connect_timeout, timeout)``, and is awaited
    under an outer bound too. urllib3 retries a failed *connection* once (nothing was sent, so
    it is safe for any verb) and a GET whose answer timed out once; a DELETE is never resent.

    **Identity** (:meth:`identity`), which the runner compares with the site's ``cluster`` name
    (``yagan``, ``pillan``, ``manke``) before it plans or deletes anything:

    1. The API server the client really talks to must be the configured ``api_url`` (scheme,
       host, port, path; case and default ports normalised). With a token only it is by
       construction; with a kubeconfig its selected cluster's ``server`` must match, else
       identity names the mismatch (and every other call refuses to send anything).
    2. The server is then asked for the ``kube-system`` Namespace (which also proves the
       credentials work there). If ``cluster_uid`` is configured, that Namespace's
       ``metadata.uid`` must equal it: the uid is created with the cluster and never changes,
       so it tells one cluster from another even if a DNS name or a VIP moves (ops read it once
       with ``kubectl get ns kube-system -o jsonpath='{.metadata.uid}'``). If ``identity_label``
       is configured (e.g. ``upgrade-bot.lsst.io/cluster``, set by ops with ``kubectl label ns
       kube-system upgrade-bot.lsst.io/cluster=yagan``), identity is *that label's value*: the
       cluster's own statement of its name, so a server that says ``pillan`` is refused by the
       summit's run whatever the configuration claims.
    3. With neither configured, identity is the configured ``cluster`` once 1 holds and the
       server answered: then the proof is the URL plus TLS verification against ``ca_file``
       (the cluster's own CA), so ``verify=False`` should only ever be used in tests.

    A kube *context* name is never used as proof: anyone can name a context ``yagan``.

    **Credentials and rights.** A bearer token (a ServiceAccount token), or a kubeconfig (its
    token, client certificate or exec plugin; ``token`` overrides its credentials when both are
    given). The account needs (ClusterRole): ``get, list, delete`` on ``namespaces``; ``list,
    delete`` on ``jobs`` (batch), ``deployments`` and ``daemonsets`` (apps),
    ``horizontalpodautoscalers`` (autoscaling). Pods are deleted by the garbage collector, not
    by the bot, so no rights on pods are needed. The pre-pull, where a site enables it, needs a
    Role in its namespace (``_prepull.RIGHTS``: ``create, get, update, delete`` on
    ``daemonsets``, ``get, list`` on ``pods``), which ``upgrade-bot check`` asks the server about.
    """

    system = SYSTEM

    def __init__(
        self,
        *,
        api_url: str,
        cluster: str,
        token: SecretStr | None = None,
        kubeconfig: Path | None = None,
        context: str | None = None,
        ca_file: Path | None = None,
        verify: bool = True,
        identity_label: str | None = None,
        cluster_uid: str | None = None,
        timeout: float = 15.0,
        connect_timeout: float = 5.0,
        parallel: int = 8,
    ) -> None:
        """Keep the settings; nothing is read or contacted until the first call.

        ``api_url``: the API server (``https://yagan.cp.lsst.org:6443``); ``cluster``: the
        cluster's name (the site's ``cluster``); ``token`` and/or ``kubeconfig`` (+ ``context``,
        else its current context); ``ca_file``: the cluster's CA (else the kubeconfig's, else
        the system's); ``verify=False`` only for tests; ``identity_label`` / ``cluster_uid``:
        the identifying checks (see the class docstring); ``timeout``: seconds to wait for an
        answer, ``connect_timeout`` to connect, per request; ``parallel``: deletions at once.
        """
        if token is None and kubeconfig is None:
            msg = "KubeCluster needs a token or a kubeconfig"
            raise ValueError(msg)
        if urlsplit(api_url).scheme not in ("http", "https"):
            msg = f"api_url must be an http(s) URL, not {api_url!r}"
            raise ValueError(msg)
        if parallel < 1 or timeout <= 0 or connect_timeout <= 0:
            msg = "parallel must be >= 1 and the timeouts > 0"
            raise ValueError(msg)
        self.api_url = api_url
        self.cluster = cluster
        self.identity_label = identity_label
        self.cluster_uid = cluster_uid
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.parallel = parallel
        self._api = KubeApi(
            api_url=api_url,
            token=token,
            kubeconfig=kubeconfig,
            context=context,
            ca_file=ca_file,
            verify=verify,
            timeout=timeout,
            connect_timeout=connect_timeout,
            parallel=parallel,
        )
        self.host = self._api.host
        self._running: set[asyncio.Event] = set()

    # -- the Integration contract ---------------------------------------------------------

    async def ping(self) -> None:
        """``GET /version`` (the server answers) then a one-item Namespace list (we may read)."""
        client = await self._api.checked()
        rt = self._api.rt
        await self._api.call(
            "GET /version", lambda: VersionApi(client).get_code(_request_timeout=rt)
        )
        await self._api.call(
            "list namespaces",
            lambda: CoreV1Api(client).list_namespace(limit=1, _request_timeout=rt),
        )

    async def cancel(self) -> None:
        """Issue no further deletions in the running :meth:`delete` (if any).

        Deletions already sent cannot be recalled: the API server carries them out (and the
        garbage collector removes the pods) whatever this client does next. The running
        :meth:`delete` waits for those in flight, then raises saying how far it got.
        """
        for stop in self._running:
            stop.set()

    async def aclose(self) -> None:
        """Close the connection pool and the thread pool (in-flight threads finish alone)."""
        await self._api.aclose()

    # -- the Cluster protocol ---------------------------------------------------------------

    async def identity(self) -> str:
        """The cluster's name if the checks of the class docstring prove it, else what it is.

        Anything other than the configured ``cluster`` (a mismatch described in words, or the
        name another cluster's ``kube-system`` label gives) makes the runner refuse.
        """
        client = await self._api.client()
        mismatch = self._api.mismatch()
        if mismatch:
            return f"unverified ({mismatch})"
        rt = self._api.rt
        ns = await self._api.call(
            "read namespace kube-system",
            lambda: CoreV1Api(client).read_namespace("kube-system", _request_timeout=rt),
        )
        meta = ns.metadata or V1ObjectMeta()
        if self.cluster_uid is not None and meta.uid != self.cluster_uid:
            return (
                f"unknown cluster at {self.api_url} (kube-system uid {meta.uid}, "
                f"not {self.cluster}'s recorded {self.cluster_uid})"
            )
        if self.identity_label is not None:
            said = (meta.labels or {}).get(self.identity_label)
            if not said:
                return (
                    f"unlabelled cluster at {self.api_url} (kube-system has no "
                    f"{self.identity_label} label)"
                )
            return said
        return self.cluster

    async def plan_cleanup(
        self, scope: Literal["all", "nublado"], *, daemonsets: bool
    ) -> list[Deletion]:
        """What exists now that the cleanup script would delete, in the script's order.

        Objects already being deleted (``deletionTimestamp`` set, e.g. a Namespace still
        Terminating) are left out: they are going. A namespace that does not exist simply has
        nothing in it (the API lists it as empty), as the scripts find.
        """
        client = await self._api.checked()
        listings = cleanup_listings(scope, daemonsets=daemonsets)
        bound = asyncio.Semaphore(self.parallel)

        async def names(listing: Listing) -> list[str]:
            async with bound:
                metas = await self._list(client, listing)
            return sorted(
                m.name for m in metas if m is not None and m.name and m.deletion_timestamp is None
            )

        try:
            async with asyncio.TaskGroup() as group:  # the first failure cancels the rest
                found = [group.create_task(names(listing)) for listing in listings]
        except* IntegrationError as failed:
            raise failed.exceptions[0]  # noqa: B904  # the error itself, not a group of one
        return [
            Deletion(listing.kind, name, listing.namespace)
            for listing, task in zip(listings, found, strict=True)
            for name in task.result()
        ]

    async def delete(self, deletions: Sequence[Deletion], report: Report) -> None:
        """Delete these, :attr:`parallel` at a time, with :data:`PROPAGATION` so pods go too.

        An object already gone (404), or a Namespace already terminating (409), counts as
        deleted. Progress is reported every tenth deletion and at the end ("40/153 deleted").
        The first failure stops further deletions (those in flight finish) and is raised,
        saying how far it got; so does :meth:`cancel`.
        """
        total = len(deletions)
        if total == 0:
            return
        stop = asyncio.Event()
        self._running.add(stop)
        bound = asyncio.Semaphore(self.parallel)
        done = 0
        failures: list[tuple[Deletion, IntegrationError]] = []

        async def one(deletion: Deletion) -> None:
            nonlocal done
            async with bound:
                if stop.is_set():
                    return
                try:
                    await self._delete(client, deletion)
                except IntegrationError as err:
                    failures.append((deletion, err))
                    stop.set()
                    return
                done += 1
                if done % 10 == 0 or done == total:
                    await report(f"{done}/{total} deleted ({deletion})")

        try:
            client = await self._api.checked()
            async with asyncio.TaskGroup() as group:
                for deletion in deletions:
                    group.create_task(one(deletion))
        except* Exception as failed:  # noqa: BLE001  # re-raised: the error, not a group of one
            raise failed.exceptions[0]  # noqa: B904
        finally:
            self._running.discard(stop)
        if failures:
            deletion, err = failures[0]
            raise type(err)(
                SYSTEM,
                f"{deletion}: {err.message} (stopped after {done}/{total} deleted)",
                host=err.host,
                status=err.status,
                detail=err.detail,
            )
        if stop.is_set():
            raise IntegrationError(
                SYSTEM,
                f"cancelled after {done}/{total} deleted (deletions already sent still happen)",
                host=self.host,
            )

    # -- the pre-pull (integrations/kube/_prepull.py) ---------------------------------------

    async def start_prepull(self, prepull: Prepull) -> None:
        """Create the pre-pull DaemonSet, or replace it with these images."""
        await _daemonset.start(self._api, prepull)

    async def prepull_state(self, namespace: str, name: str) -> PrepullState:
        """The pre-pull DaemonSet's nodes and what each pulled."""
        return await _daemonset.state(self._api, namespace, name)

    async def stop_prepull(self, namespace: str, name: str) -> None:
        """Delete the pre-pull DaemonSet (its pods go too)."""
        await _daemonset.stop(self._api, namespace, name)

    async def prepull_rights(self, namespace: str) -> list[str]:
        """The pre-pull's rights the account lacks in ``namespace`` (SelfSubjectAccessReview)."""
        return await _daemonset.missing_rights(self._api, namespace)

    # -- the calls --------------------------------------------------------------------------

    async def _list(self, client: ApiClient, listing: Listing) -> list[V1ObjectMeta | None]:
        ns, sel, rt = listing.namespace or "", listing.selector, self._api.rt
        where = f"{listing.kind}s in {ns}" if ns else f"{listing.kind}s"
        calls = KINDS[listing.kind]
        try:
            return await self._api.call(
                f"list {where}", lambda: calls.list_objects(client, ns, sel, rt)
            )
        except IntegrationError as err:
            if err.status == HTTPStatus.NOT_FOUND:  # the API lists a missing namespace as empty
                return []
            raise

    async def _delete(self, client: ApiClient, deletion: Deletion) -> None:
        name, ns, rt = deletion.name, deletion.namespace or "", self._api.rt
        if deletion.kind != "Namespace" and not ns:
            raise IntegrationError(SYSTEM, f"{deletion}: a {deletion.kind} needs a namespace")
        body = V1DeleteOptions(propagation_policy=PROPAGATION)
        calls = KINDS[deletion.kind]
        try:
            await self._api.call(
                f"delete {deletion}", lambda: calls.delete_object(client, name, ns, body, rt)
            )
        except IntegrationError as err:
            gone = err.status == HTTPStatus.NOT_FOUND
            terminating = deletion.kind == "Namespace" and err.status == HTTPStatus.CONFLICT
            if not (gone or terminating):
                raise
