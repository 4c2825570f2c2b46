"""One REST API behind a bearer token, as the ArgoCD and GitHub clients both talk to theirs.

What they share lives here once: one ``aiohttp`` session per client (opened lazily, closed by
:meth:`BearerApi.aclose`), a whole-request timeout on every call, GETs retried after a refused
connection or a 502/503/504 (growing delay), nothing else ever sent twice, and transport
failures turned into errors naming the call and the host that say whether the request may have
been acted on (:class:`Unreachable`: never connected; :class:`NoAnswer` and its
:class:`IntegrationTimeout`: sent, no answer); the reading of a JSON answer
(:meth:`BearerApi.parse`; :func:`obj`, :func:`items`, :func:`string` for its optional parts;
:func:`body_message` for an error body's words); the errors built from an answer, never with the
token in them (:meth:`BearerApi.error`, ``malformed``, ``refused``). What an answer *means*
(which keys hold the error's words, what a 401, a 403 or a 404 says, rate limits, pagination)
stays with each client, as its ``failure``, which :meth:`BearerApi.get_object` raises for an
error status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal, cast
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.errors import IntegrationError, IntegrationTimeout, NoAnswer, Unreachable

USER_AGENT = "rubin-upgrade-bot"
RETRY_STATUSES = frozenset({502, 503, 504})
"""Answers of a proxy or a server restarting: a GET is tried again after them."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole."""

    status: int
    headers: Mapping[str, str]
    text: str


Failure = Callable[[str, Answer], IntegrationError]
"""A client's error for an answer with an error status: ``(what was called, the answer)``."""


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
        failure: Failure,
        malformed_hint: str = "",
    ) -> None:
        """``unreachable`` names the server in "cannot reach ..." errors.

        ``failure`` is the client's error for an error status (what it means for this API);
        ``malformed_hint`` is added to the message of an answer that is not the JSON expected.
        """
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
        self._failure = failure
        self._malformed_hint = malformed_hint
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
                if isinstance(exc, aiohttp.ClientConnectorError):  # never connected
                    raise Unreachable(
                        self.system,
                        f"{what}: cannot reach {self._unreachable}: {exc}",
                        host=self.host,
                    ) from exc
                raise NoAnswer(  # sent, then dropped: it may have been acted on
                    self.system,
                    f"{what}: the connection dropped before an answer ({exc})",
                    host=self.host,
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

    async def get_object(
        self, path: str, *, params: dict[str, str] | None = None, auth: bool = True
    ) -> dict[str, object]:
        """GET a JSON object; an error status or a malformed body raises.

        An error status raises the client's ``failure``, a body that is no JSON object
        :meth:`malformed`.
        """
        answer = await self.send("GET", path, params=params, auth=auth)
        if answer.status >= HTTPStatus.BAD_REQUEST:
            raise self._failure(f"GET {path}", answer)
        return obj(self.parse(f"GET {path}", answer, "object"))

    def parse(self, what: str, answer: Answer, kind: Literal["object", "array"]) -> object:
        """The JSON body, which must be an object or an array as ``kind`` says."""
        try:
            value: object = json.loads(answer.text)
        except ValueError:
            raise self.malformed(what, answer.status, answer.text, "not JSON") from None
        if not isinstance(value, dict if kind == "object" else list):
            raise self.malformed(what, answer.status, answer.text, f"not a JSON {kind}")
        return value

    # --- errors, without the token ---

    def scrub(self, text: str) -> str:
        """The text without the token, should a proxy or the server ever echo it."""
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

    def error(self, message: str, *, status: int, text: str) -> IntegrationError:
        """An error of this system and host; ``text`` (the body, scrubbed) is its detail."""
        return IntegrationError(
            self.system, message, host=self.host, status=status, detail=self.scrub(text)
        )

    def malformed(self, what: str, status: int, text: str, why: str) -> IntegrationError:
        """An answer that is not the JSON expected (``why``), with the client's hint."""
        hint = f"; {self._malformed_hint}" if self._malformed_hint else ""
        return self.error(f"{what}: malformed answer ({why}){hint}", status=status, text=text)

    def refused(
        self, what: str, answer: Answer, *, said: str, unauthorized: str, forbidden: str
    ) -> IntegrationError:
        """An error status in words, with the body (scrubbed) as the detail.

        The client's words for 401 and 403; else what the server ``said`` (a 5xx as a server
        error), or the status's phrase when it said nothing.
        """
        status = answer.status
        if status == HTTPStatus.UNAUTHORIZED:
            message = unauthorized
        elif status == HTTPStatus.FORBIDDEN:
            message = forbidden
        elif status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            message = f"server error: {said or phrase(status)}"
        else:
            message = said or phrase(status)
        return self.error(f"{what}: {message}", status=status, text=answer.text)


# --- reading JSON answers ----------------------------------------------------------------------


def segment(name: str) -> str:
    """``name`` as one URL path segment (``tickets/DM-1`` -> ``tickets%2FDM-1``)."""
    return quote(name, safe="")


def obj(value: object) -> dict[str, object]:
    """``value`` if it is a JSON object, else an empty one (optional parts of an answer)."""
    return cast("dict[str, object]", value) if isinstance(value, dict) else {}


def items(value: object) -> list[object]:
    """``value`` if it is a JSON array, else none (ArgoCD's ``items`` is ``null`` when empty)."""
    return cast("list[object]", value) if isinstance(value, list) else []


def string(value: object) -> str:
    """``value`` if it is a JSON string, else an empty one."""
    return value if isinstance(value, str) else ""


def body_message(text: str, *keys: str) -> str:
    """What an error body says: the first of ``keys`` holding a non-empty string, else ``""``.

    Each API has its keys (GitHub ``message``; ArgoCD's gRPC gateway ``message``, ``error``).
    """
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in keys:
        said = string(body.get(key))
        if said:
            return said
    return ""


def phrase(status: int) -> str:
    """``HTTP 404 Not Found``, or ``HTTP 599`` for a status without a phrase."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
