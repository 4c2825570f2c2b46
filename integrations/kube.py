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
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from kubernetes.client import (
    ApiClient,
    AppsV1Api,
    AutoscalingV2Api,
    BatchV1Api,
    Configuration,
    CoreV1Api,
    V1DeleteOptions,
    V1ObjectMeta,
    VersionApi,
)
from kubernetes.client.exceptions import ApiException
from kubernetes.config import kube_config
from kubernetes.config.config_exception import ConfigException
from pydantic import SecretStr
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from integrations.base import Integration, Report
from integrations.errors import IntegrationError, IntegrationTimeout


@dataclass(frozen=True, slots=True)
class Deletion:
    """One object the cleanup deletes."""

    kind: Literal["Job", "Deployment", "HorizontalPodAutoscaler", "DaemonSet", "Namespace"]
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        """``Job maintel/mtmount``."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


class Cluster(Integration, Protocol):
    """The Kubernetes API server of one site."""

    async def identity(self) -> str:
        """What identifies the cluster (its API server and identifying label or namespace).

        The engine refuses to clean up unless this matches the site's configuration: a kube
        context's name proves nothing.
        """
        ...

    async def plan_cleanup(
        self, scope: Literal["all", "nublado"], *, daemonsets: bool
    ) -> list[Deletion]:
        """What the cleanup would delete now (the preview the lead approves)."""
        ...

    async def delete(self, deletions: Sequence[Deletion], report: Report) -> None:
        """Delete these objects (Jobs with their pods); objects already gone are fine."""
        ...


# --- the real client -------------------------------------------------------------------------

SYSTEM = "Kubernetes"

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

Kind = Literal["Job", "Deployment", "HorizontalPodAutoscaler", "DaemonSet", "Namespace"]


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


def _origin(url: str) -> str:
    """``https://host:443/`` and ``HTTPS://Host`` are the same server: compare them so."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower(), 0)
    return (
        f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/')}"
    )


_load_kube_config: Callable[..., None] = kube_config.load_kube_config
"""The client's kubeconfig loader (untyped in the package), typed for our one call."""

T = TypeVar("T")


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
    by the bot, so no rights on pods are needed.
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
        self._token = token
        self._kubeconfig = kubeconfig
        self._context = context
        self._ca_file = ca_file
        self._verify = verify
        self.identity_label = identity_label
        self.cluster_uid = cluster_uid
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.parallel = parallel
        self.host = urlsplit(api_url).netloc
        self._client: ApiClient | None = None
        self._server: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._setup = asyncio.Lock()
        self._running: set[asyncio.Event] = set()

    # -- the Integration contract ---------------------------------------------------------

    async def ping(self) -> None:
        """``GET /version`` (the server answers) then a one-item Namespace list (we may read)."""
        client = await self._checked()
        await self._call(
            "GET /version", lambda: VersionApi(client).get_code(_request_timeout=self._rt)
        )
        await self._call(
            "list namespaces",
            lambda: CoreV1Api(client).list_namespace(limit=1, _request_timeout=self._rt),
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
        if self._client is not None:
            close: Callable[[], None] = self._client.close  # untyped in the package
            close()
            self._client = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- the Cluster protocol ---------------------------------------------------------------

    async def identity(self) -> str:
        """The cluster's name if the checks of the class docstring prove it, else what it is.

        Anything other than the configured ``cluster`` (a mismatch described in words, or the
        name another cluster's ``kube-system`` label gives) makes the runner refuse.
        """
        client = await self._client_for_use()
        mismatch = self._mismatch()
        if mismatch:
            return f"unverified ({mismatch})"
        ns = await self._call(
            "read namespace kube-system",
            lambda: CoreV1Api(client).read_namespace("kube-system", _request_timeout=self._rt),
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
        client = await self._checked()
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
            client = await self._checked()
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

    # -- the calls --------------------------------------------------------------------------

    @property
    def _rt(self) -> tuple[float, float]:
        """The client's ``_request_timeout``: (connect, read) seconds."""
        return (self.connect_timeout, self.timeout)

    async def _list(self, client: ApiClient, listing: Listing) -> list[V1ObjectMeta | None]:
        ns, sel, rt = listing.namespace or "", listing.selector, self._rt
        where = f"{listing.kind}s in {ns}" if ns else f"{listing.kind}s"
        call: Callable[[], list[V1ObjectMeta | None]]
        match listing.kind:
            case "Job":
                api = BatchV1Api(client)
                call = lambda: [  # noqa: E731
                    i.metadata
                    for i in api.list_namespaced_job(
                        ns, label_selector=sel, _request_timeout=rt
                    ).items
                ]
            case "Deployment":
                apps = AppsV1Api(client)
                call = lambda: [  # noqa: E731
                    i.metadata
                    for i in apps.list_namespaced_deployment(
                        ns, label_selector=sel, _request_timeout=rt
                    ).items
                ]
            case "DaemonSet":
                apps = AppsV1Api(client)
                call = lambda: [  # noqa: E731
                    i.metadata
                    for i in apps.list_namespaced_daemon_set(
                        ns, label_selector=sel, _request_timeout=rt
                    ).items
                ]
            case "HorizontalPodAutoscaler":
                hpa = AutoscalingV2Api(client)
                call = lambda: [  # noqa: E731
                    i.metadata
                    for i in hpa.list_namespaced_horizontal_pod_autoscaler(
                        ns, label_selector=sel, _request_timeout=rt
                    ).items
                ]
            case "Namespace":
                core = CoreV1Api(client)
                call = lambda: [  # noqa: E731
                    i.metadata
                    for i in core.list_namespace(label_selector=sel, _request_timeout=rt).items
                ]
        try:
            return await self._call(f"list {where}", call)
        except IntegrationError as err:
            if err.status == HTTPStatus.NOT_FOUND:  # the API lists a missing namespace as empty
                return []
            raise

    async def _delete(self, client: ApiClient, deletion: Deletion) -> None:
        name, ns, rt = deletion.name, deletion.namespace or "", self._rt
        if deletion.kind != "Namespace" and not ns:
            raise IntegrationError(SYSTEM, f"{deletion}: a {deletion.kind} needs a namespace")
        body = V1DeleteOptions(propagation_policy=PROPAGATION)
        call: Callable[[], object]
        match deletion.kind:
            case "Job":
                api = BatchV1Api(client)
                call = lambda: api.delete_namespaced_job(name, ns, body=body, _request_timeout=rt)  # noqa: E731
            case "Deployment":
                apps = AppsV1Api(client)
                call = lambda: apps.delete_namespaced_deployment(  # noqa: E731
                    name, ns, body=body, _request_timeout=rt
                )
            case "DaemonSet":
                apps = AppsV1Api(client)
                call = lambda: apps.delete_namespaced_daemon_set(  # noqa: E731
                    name, ns, body=body, _request_timeout=rt
                )
            case "HorizontalPodAutoscaler":
                hpa = AutoscalingV2Api(client)
                call = lambda: hpa.delete_namespaced_horizontal_pod_autoscaler(  # noqa: E731
                    name, ns, body=body, _request_timeout=rt
                )
            case "Namespace":
                core = CoreV1Api(client)
                call = lambda: core.delete_namespace(name, body=body, _request_timeout=rt)  # noqa: E731
        try:
            await self._call(f"delete {deletion}", call)
        except IntegrationError as err:
            gone = err.status == HTTPStatus.NOT_FOUND
            terminating = deletion.kind == "Namespace" and err.status == HTTPStatus.CONFLICT
            if not (gone or terminating):
                raise

    async def _call(self, what: str, call: Callable[[], T]) -> T:
        """Run one blocking client call on the pool; turn every failure into ours."""
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is None:
            pool = self._pool = ThreadPoolExecutor(
                max_workers=self.parallel + 2, thread_name_prefix="kube"
            )
        # urllib3's own timeouts fire first: one connection retry, one GET retry, then a margin
        backstop = 2 * (self.connect_timeout + self.timeout) + 1.0
        try:
            return await asyncio.wait_for(loop.run_in_executor(pool, call), backstop)
        except TimeoutError as exc:
            raise self._timeout(what) from exc
        except ApiException as exc:
            raise self._api_error(what, exc) from exc
        except MaxRetryError as exc:
            # urllib3's NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError
            refused = isinstance(exc.reason, NewConnectionError)
            if isinstance(exc.reason, Urllib3Timeout) and not refused:
                raise self._timeout(what) from exc
            raise IntegrationError(
                SYSTEM, f"{what}: cannot connect", host=self.host, detail=str(exc.reason)
            ) from exc
        except Urllib3Timeout as exc:
            raise self._timeout(what) from exc
        except HTTPError as exc:
            raise IntegrationError(
                SYSTEM, f"{what}: {type(exc).__name__}", host=self.host, detail=str(exc)
            ) from exc
        except ValueError as exc:  # JSON that does not parse, or not the object the model is
            raise IntegrationError(
                SYSTEM, f"{what}: malformed answer", host=self.host, detail=str(exc)
            ) from exc

    def _timeout(self, what: str) -> IntegrationTimeout:
        return IntegrationTimeout(
            SYSTEM,
            f"{what}: no answer within {self.timeout:g} s (connect {self.connect_timeout:g} s)",
            host=self.host,
        )

    def _api_error(self, what: str, exc: ApiException) -> IntegrationError:
        """The API's own words: the Status message (or the body's tail) with its code."""
        body = exc.body if isinstance(exc.body, str) else ""
        try:
            said = json.loads(body).get("message") if body else None
        except (ValueError, AttributeError):
            said = None
        code = exc.status if isinstance(exc.status, int) and exc.status else None
        if code == HTTPStatus.UNAUTHORIZED:
            message = f"{what}: the API server refused the credentials (401 Unauthorized)"
        elif code == HTTPStatus.FORBIDDEN:
            message = f"{what}: forbidden (403): the bot's account lacks the RBAC rights"
        elif code is None:
            message = f"{what}: {exc.reason}"
        else:
            message = f"{what}: {exc.reason or 'failed'}"
        return IntegrationError(
            SYSTEM, message, host=self.host, status=code, detail=str(said or body or "") or None
        )

    # -- set-up -----------------------------------------------------------------------------

    def _mismatch(self) -> str | None:
        """Why the server the client talks to is not the configured one, if it is not."""
        if self._server is not None and _origin(self._server) != _origin(self.api_url):
            return f"the kubeconfig points at {self._server}, not {self.api_url}"
        return None

    async def _checked(self) -> ApiClient:
        """The API client, refusing to send anything to a server that is not ``api_url``."""
        client = await self._client_for_use()
        mismatch = self._mismatch()
        if mismatch:
            raise IntegrationError(SYSTEM, f"refusing to call: {mismatch}", host=self.host)
        return client

    async def _client_for_use(self) -> ApiClient:
        """Build the client once (reading the kubeconfig is blocking I/O: on a thread)."""
        async with self._setup:
            if self._client is None:
                try:
                    config = await asyncio.to_thread(self._configuration)
                except (ConfigException, OSError, ValueError) as exc:
                    raise IntegrationError(
                        SYSTEM, "cannot use the kubeconfig", host=self.host, detail=str(exc)
                    ) from exc
                self._server = config.host
                self._client = ApiClient(config)
            return self._client

    def _configuration(self) -> Configuration:
        config = Configuration()
        config.host = self.api_url
        # talk to the API server directly whatever the environment's proxies say (a kubeconfig's
        # own proxy-url still applies)
        config.proxy = None
        if self._kubeconfig is not None:
            _load_kube_config(
                config_file=str(self._kubeconfig),
                context=self._context,
                client_configuration=config,
                persist_config=False,
            )
        if self._token is not None:  # overrides the kubeconfig's credentials
            config.api_key = {"authorization": self._token.get_secret_value()}
            config.api_key_prefix = {"authorization": "Bearer"}
            config.refresh_api_key_hook = None
            config.cert_file = config.key_file = None
        if self._ca_file is not None:
            config.ssl_ca_cert = str(self._ca_file)
        config.verify_ssl = self._verify
        config.connection_pool_maxsize = self.parallel + 2
        config.retries = Retry(
            total=2,
            connect=1,
            read=1,
            status=0,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0,
            raise_on_status=False,
        )
        return config
