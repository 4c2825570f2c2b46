"""The LOVE manager's REST API: login and token, ``cmd/`` calls, errors without secrets.

One :class:`ManagerApi` per client holds the HTTP session and the token, which the websocket
(opened here too, :meth:`ManagerApi.websocket`) carries in its query. The messages are in the
package docstring (:mod:`integrations.love`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.errors import IntegrationError, IntegrationTimeout, NoAnswer, Unreachable

SYSTEM = "LOVE"
_RELOGIN_STATUSES = frozenset({401})
"""The token was refused (expired: deleted by the manager; or unknown): log in once more."""
_WS_REFUSED = frozenset({401, 403})
"""Websocket handshake statuses of an unknown token (Channels closes before accepting)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of the manager, body as text (parsed by the caller that knows its shape)."""

    status: int
    text: str

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one (HTML error page, garbage)."""
        try:
            body = json.loads(self.text)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None


class ManagerApi:
    """One site's LOVE manager: its REST API with our token, and the websocket's handshake."""

    system = SYSTEM

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: SecretStr,
        timeout: float,
        command_timeout: float,
        heartbeat: float,
        retry_delay: float,
    ) -> None:
        """``url`` is LOVE's root, ``https://<fqdn>/love``; the rest as :class:`LoveClient`'s."""
        base = URL(url.rstrip("/"))
        if not base.is_absolute() or base.scheme not in {"http", "https"}:
            raise ValueError(f"LOVE url must be an absolute http(s) URL: {url!r}")
        self._api = f"{base}/manager/api/"
        ws_scheme = "wss" if base.scheme == "https" else "ws"
        self._ws_url = f"{base.with_scheme(ws_scheme)}/manager/ws/subscription"
        self.host = f"{base.host}:{base.explicit_port}" if base.explicit_port else str(base.host)
        self.username = username
        self._password = password
        self.timeout = timeout
        self._command_timeout = command_timeout
        self._heartbeat = heartbeat
        self._retry_delay = retry_delay
        self._session: aiohttp.ClientSession | None = None
        self._token: SecretStr | None = None
        self._old_tokens: list[SecretStr] = []
        """Tokens given up on, still scrubbed from any text we pass on."""
        self._login_lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- commands ---

    async def command(self, csc: str, index: int, cmd: str, params: dict[str, Any]) -> str:
        """``POST cmd/``: the final ack's result text, or the error its answer deserves."""
        what = f"{cmd} to {csc}:{index}"
        payload = {"csc": csc, "salindex": index, "cmd": cmd, "params": params}
        answer = await self._authed("POST", "cmd/", payload=payload, limit=self._command_timeout)
        if answer.status != HTTPStatus.OK:
            raise self.refused(what, answer)
        body = answer.json_object()
        if body is None or "ack" not in body:
            raise self.malformed(what, answer)
        return str(body["ack"])

    # --- the websocket ---

    async def websocket(self) -> aiohttp.ClientWebSocketResponse:
        """Connect the subscription websocket; a refused token is renewed once."""
        token = await self._ensure_token()
        try:
            return await self._ws_connect(token)
        except _TokenRefusedError:
            token = await self._login(stale=token)
        try:
            return await self._ws_connect(token)
        except _TokenRefusedError as e:
            raise self.error(
                "websocket /manager/ws/subscription refused the token right after a new login",
                status=e.status,
            ) from None

    async def _ws_connect(self, token: SecretStr) -> aiohttp.ClientWebSocketResponse:
        where = "websocket /manager/ws/subscription"
        url = f"{self._ws_url}?token={token.get_secret_value()}"
        try:
            async with asyncio.timeout(self.timeout):
                return await self._http().ws_connect(url, heartbeat=self._heartbeat)
        except aiohttp.WSServerHandshakeError as e:
            # str(e) carries the URL, hence the token: only the status is kept.
            if e.status in _WS_REFUSED:
                raise _TokenRefusedError(e.status) from None
            raise self.error(f"{where} refused: HTTP {e.status}", status=e.status) from None
        except TimeoutError:
            raise IntegrationTimeout(
                self.system, f"{where}: no answer in {self.timeout:g}s", host=self.host
            ) from None
        except aiohttp.ClientConnectionError as e:
            raise self.error(f"{where}: cannot connect: {type(e).__name__}") from None

    # --- HTTP and the token ---

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": "rubin-upgrade-bot"})
        return self._session

    async def _ensure_token(self) -> SecretStr:
        return self._token if self._token is not None else await self._login()

    async def _login(self, stale: SecretStr | None = None) -> SecretStr:
        """Log in unless another call already replaced the ``stale`` token meanwhile."""
        async with self._login_lock:
            if self._token is not None and self._token is not stale:
                return self._token
            if self._token is not None:
                self._old_tokens = [*self._old_tokens[-4:], self._token]
                self._token = None
            payload = {"username": self.username, "password": self._password.get_secret_value()}
            answer = await self._send("POST", "get-token/", token=None, payload=payload)
            if answer.status == HTTPStatus.BAD_REQUEST:
                raise self.error(
                    f"login as {self.username!r} refused: wrong username or password",
                    status=answer.status,
                    detail=answer.text,
                )
            if answer.status != HTTPStatus.OK:
                raise self.refused(f"login as {self.username!r}", answer)
            body = answer.json_object()
            key = body.get("token") if body is not None else None
            if not isinstance(key, str) or not key:
                raise self.malformed(f"login as {self.username!r} (no token)", answer)
            self._token = SecretStr(key)
            return self._token

    async def _authed(
        self, method: str, path: str, *, payload: dict[str, Any] | None = None, limit: float
    ) -> Answer:
        """One call with the token; on 401 log in again and repeat it once."""
        token = await self._ensure_token()
        answer = await self._send(method, path, token=token, payload=payload, limit=limit)
        if answer.status in _RELOGIN_STATUSES:
            token = await self._login(stale=token)
            answer = await self._send(method, path, token=token, payload=payload, limit=limit)
        return answer

    async def get(self, path: str) -> Answer:
        """A GET, asked once more after a refused connection or a 5xx (not after a timeout)."""
        try:
            answer = await self._authed("GET", path, limit=self.timeout)
        except IntegrationTimeout:
            raise
        except IntegrationError as e:
            if e.status is not None and not _server_error(e.status):
                raise
        else:
            if not _server_error(answer.status):
                return answer
        await asyncio.sleep(self._retry_delay)
        return await self._authed("GET", path, limit=self.timeout)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: SecretStr | None,
        payload: dict[str, Any] | None = None,
        limit: float | None = None,
    ) -> Answer:
        limit = self.timeout if limit is None else limit
        headers = {"Authorization": f"Token {token.get_secret_value()}"} if token else {}
        try:
            async with self._http().request(
                method,
                self._api + path,
                json=payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as response:
                return Answer(response.status, await response.text(errors="replace"))
        except TimeoutError:
            raise IntegrationTimeout(
                self.system, f"{method} {path}: no answer in {limit:g}s", host=self.host
            ) from None
        except aiohttp.ClientConnectorError as e:  # never connected: nothing was sent
            raise Unreachable(
                self.system, self._scrub(f"{method} {path}: cannot connect: {e}"), host=self.host
            ) from None
        except aiohttp.ClientConnectionError as e:  # dropped after sending: maybe acted on
            raise NoAnswer(
                self.system,
                self._scrub(f"{method} {path}: the connection dropped before an answer ({e})"),
                host=self.host,
            ) from None
        except aiohttp.ClientError as e:
            raise self.error(f"{method} {path}: {type(e).__name__}: {e}") from None

    # --- errors ---

    def _scrub(self, text: str) -> str:
        """``text`` without the password or any token we held."""
        secrets = [self._password, *self._old_tokens]
        if self._token is not None:
            secrets.append(self._token)
        for secret in secrets:
            value = secret.get_secret_value()
            if value:
                text = text.replace(value, "***")
        return text

    def error(
        self,
        message: str,
        *,
        system: str | None = None,
        status: int | str | None = None,
        detail: str | None = None,
    ) -> IntegrationError:
        """An error of LOVE (or ``system``) at this host, without any secret we hold."""
        return IntegrationError(
            system or self.system,
            self._scrub(message),
            host=self.host,
            status=status,
            detail=self._scrub(detail) if detail else None,
        )

    def refused(self, what: str, answer: Answer) -> IntegrationError:
        """A non-200 answer, worded by its status, with what LOVE said as the detail.

        A 504 is the commander's: it sent the command and the CSC's final ack did not come in
        time, so the command may have been acted on (:class:`NoAnswer`).
        """
        body = answer.json_object()
        said = _said(body) if body is not None else ""
        status = answer.status
        if status == HTTPStatus.UNAUTHORIZED:
            message = f"{what}: the token was refused again after a new login ({said})"
        elif status == HTTPStatus.FORBIDDEN:
            message = f"{what}: not allowed ({said or 'forbidden'})"
        elif status == HTTPStatus.GATEWAY_TIMEOUT:
            message = f"{what}: not acknowledged ({said or 'gateway timeout'})"
        elif _server_error(status):
            message = f"{what}: LOVE answered HTTP {status}" + (
                f" ({said})" if said else " (a command the CSC rejects also ends this way)"
            )
        else:
            message = f"{what}: HTTP {status}" + (f" ({said})" if said else "")
        error = self.error(message, status=status, detail=said or answer.text)
        if status == HTTPStatus.GATEWAY_TIMEOUT:
            return NoAnswer(
                error.system, error.message, host=error.host, status=status, detail=error.detail
            )
        return error

    def malformed(self, what: str, answer: Answer) -> IntegrationError:
        """An answer that is not the JSON LOVE sends."""
        return self.error(
            f"{what}: malformed answer (not the JSON LOVE sends)",
            status=answer.status,
            detail=answer.text,
        )


class _TokenRefusedError(Exception):
    """The websocket handshake refused our token (it carries the status only)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _server_error(status: int | str) -> bool:
    return isinstance(status, int) and status >= HTTPStatus.INTERNAL_SERVER_ERROR


def _said(body: dict[str, Any]) -> str:
    """What a LOVE error body says: the commander's ``ack`` or DRF's ``detail``/field errors."""
    for key in ("ack", "detail"):
        if key in body:
            return str(body[key])
    return "; ".join(
        " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        for value in body.values()
    )
