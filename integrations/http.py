"""One REST API behind a bearer token, as the ArgoCD and GitHub clients both talk to theirs.

What they share lives here once: one ``aiohttp`` session per client (opened lazily, closed by
:meth:`BearerApi.aclose`), a whole-request timeout on every call, GETs retried after a refused
connection or a 502/503/504 (growing delay), nothing else ever sent twice, and transport
failures turned into :class:`IntegrationError` / :class:`IntegrationTimeout` naming the call
and the host. What an answer *means* (error bodies, pagination) stays with each client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.errors import IntegrationError, IntegrationTimeout

USER_AGENT = "rubin-upgrade-bot"
RETRY_STATUSES = frozenset({502, 503, 504})
"""Answers of a proxy or a server restarting: a GET is tried again after them."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    text: str


class BearerApi:
    """Calls to one API root with ``Authorization: Bearer <token>``."""

    def __init__(
        self,
        *,
        system: str,
        url: str,
        token: SecretStr,
        headers: Mapping[str, str],
        timeout: float,
        retries: int,
        retry_delay: float,
        unreachable: str,
    ) -> None:
        """``unreachable`` names the server in "cannot reach ..." errors."""
        base = URL(url.rstrip("/"))
        if not base.is_absolute():
            raise ValueError(f"{system} url must be absolute: {url!r}")
        self.system = system
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.host = f"{base.host}:{base.explicit_port}" if base.explicit_port else str(base.host)
        self._base = base
        self._token = token
        self._headers = {**headers, "User-Agent": USER_AGENT}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._unreachable = unreachable
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers)
        return self._session

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, object] | None = None,
        auth: bool = True,
    ) -> Answer:
        """One call (``path`` already URL-encoded). Transport failures raise; GETs are retried."""
        url = URL(str(self._base) + path, encoded=True)
        if params:
            url = url.with_query(params)
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"} if auth else {}
        what = f"{method} {path}"
        attempts = 1 + (self._retries if method == "GET" else 0)
        for attempt in range(1, attempts + 1):
            try:
                async with self._http().request(
                    method, url, json=body, headers=headers, timeout=self._timeout
                ) as response:
                    status, answer = response.status, response.headers
                    text = await response.text(errors="replace")
            except TimeoutError as exc:
                raise IntegrationTimeout(
                    self.system, f"{what}: no answer within {self.timeout:g} s", host=self.host
                ) from exc
            except aiohttp.ClientConnectionError as exc:
                if attempt < attempts:
                    await asyncio.sleep(self.retry_delay * attempt)
                    continue
                raise IntegrationError(
                    self.system, f"{what}: cannot reach {self._unreachable}: {exc}", host=self.host
                ) from exc
            except aiohttp.ClientError as exc:
                raise IntegrationError(
                    self.system, f"{what}: {type(exc).__name__}: {exc}", host=self.host
                ) from exc
            if status in RETRY_STATUSES and attempt < attempts:
                await asyncio.sleep(self.retry_delay * attempt)
                continue
            return Answer(status, answer, text)
        raise AssertionError("unreachable")  # pragma: no cover
