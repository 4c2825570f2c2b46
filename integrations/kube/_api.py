"""The connection to the API server: the official client's configuration, calls and failures.

The ``kubernetes`` package is blocking (urllib3): :class:`KubeApi` runs every call on its own
thread pool and turns every failure into an :class:`IntegrationError` naming the call. It also
knows which server the client really talks to, so that nothing is sent to another one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.config import kube_config
from kubernetes.config.config_exception import ConfigException
from pydantic import SecretStr
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from integrations.errors import IntegrationError, IntegrationTimeout
from integrations.kube._cleanup import RequestTimeout

SYSTEM = "Kubernetes"


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


class KubeApi:
    """One API server through the official client, each call on this client's thread pool.

    The pool's size, the timeouts and urllib3's retries are said in :class:`KubeCluster`'s
    docstring, which this connection serves.
    """

    def __init__(
        self,
        *,
        api_url: str,
        token: SecretStr | None,
        kubeconfig: Path | None,
        context: str | None,
        ca_file: Path | None,
        verify: bool,
        timeout: float,
        connect_timeout: float,
        parallel: int,
    ) -> None:
        """The settings of :class:`KubeCluster`; nothing is read or contacted until used."""
        self.api_url = api_url
        self._token = token
        self._kubeconfig = kubeconfig
        self._context = context
        self._ca_file = ca_file
        self._verify = verify
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.parallel = parallel
        self.host = urlsplit(api_url).netloc
        self._client: ApiClient | None = None
        self._server: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._setup = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the connection pool and the thread pool (in-flight threads finish alone)."""
        if self._client is not None:
            close: Callable[[], None] = self._client.close  # untyped in the package
            close()
            self._client = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- the calls --------------------------------------------------------------------------

    @property
    def rt(self) -> RequestTimeout:
        """The client's ``_request_timeout``: (connect, read) seconds."""
        return (self.connect_timeout, self.timeout)

    async def call(self, what: str, call: Callable[[], T]) -> T:
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

    def mismatch(self) -> str | None:
        """Why the server the client talks to is not the configured one, if it is not."""
        if self._server is not None and _origin(self._server) != _origin(self.api_url):
            return f"the kubeconfig points at {self._server}, not {self.api_url}"
        return None

    async def checked(self) -> ApiClient:
        """The API client, refusing to send anything to a server that is not ``api_url``."""
        client = await self.client()
        mismatch = self.mismatch()
        if mismatch:
            raise IntegrationError(SYSTEM, f"refusing to call: {mismatch}", host=self.host)
        return client

    async def client(self) -> ApiClient:
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
