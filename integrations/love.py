"""LOVE and the ScriptQueue: queue standard scripts, follow them, send CSC commands.

The interface follows the LOVE manager REST API (lsst-ts/LOVE-manager ``manager/api``):
``POST /love/manager/api/cmd/`` with ``{"csc", "salindex", "cmd", "params"}``, the commander's
ack as the result; scripts are added to a ScriptQueue with ``cmd_add`` (``isStandard``,
``path``, ``config`` as YAML text, ``descr``, ``location``...) and stopped with
``cmd_stopScripts`` (``salIndices``, ``length``, ``terminate``).

:class:`LoveClient` follows the code of lsst-ts/LOVE-manager 8e1f887 (2026-04-15:
``manager/api/urls.py``, ``views.py``, ``authentication.py``, ``manager/permissions.py``,
``manager/settings.py``, ``subscription/consumers.py``, ``auth.py``), LOVE-commander 6aee028
(``python/love/commander/commands.py``), LOVE-producer 9faaec1 (``love_producer_script_queue.py``,
``love_producer_csc.py``), LOVE-frontend b021b14 (``components/ScriptQueue``,
``redux/actions/ws.js``), ts_scriptqueue 688c7ad (``script_queue.py``, ``queue_model.py``),
ts_salobj 69c1740 (``base_script.py``, ``controller_command.py``) and ts_xml a724e1a (enums
``Script``, ``ScriptQueue``; ``ScriptQueue_Commands.xml``). Read, not observed on a site; what
the code leaves open is marked *unconfirmed*. The messages it relies on:

REST (``<url>/manager/api/``, JSON):

- ``POST get-token/`` ``{"username", "password"}`` → 200 ``{"token", "user",
  "permissions": {"execute_commands"}, ...}``; wrong credentials → 400
  ``{"non_field_errors": [...]}``. Every login creates a new token, so the token is kept
  and reused; it is sent as ``Authorization: Token <key>``. A token older than
  ``TOKEN_EXPIRED_AFTER_DAYS`` (30) is deleted on use and answered 401
  ``{"detail": "The Token is expired"}`` (an unknown one: 401 ``"Invalid Token"``): we
  log in again once and repeat the call (safe: a 401 is answered before the view runs).
- ``GET validate-token/no_config/`` → 200 with the same fields: ``LoveClient.ping``.
- ``POST cmd/`` ``{"csc", "salindex", "cmd", "params"}``: the manager adds ``identity``
  and forwards to the commander, which answers once the CSC's final ack came (its
  ``COMMAND_TIMEOUTS``, 10 s by default): 200 ``{"ack": <ack result>}`` (salobj's
  ``"Done"`` for most commands); no final ack → 504 ``{"ack": "Command time out. ..."}``;
  user may not command → 403 ``{"ack": "Your user is not allowed to command the
  observatory."}``. A command the CSC *rejects* raises
  ``AckError`` in the commander, which does not catch it: the manager then fails on the
  commander's non-JSON 500 and answers a non-JSON 500 itself (read from the code, not
  observed: unconfirmed). Any other status is a failure, its body's tail in the detail.
- ``cmd_add`` params as the frontend sends them (``ScriptQueue.jsx`` ``launchScript``):
  ``isStandard``, ``path``, ``config`` (YAML text), ``descr``, ``location`` (2 = LAST),
  ``logLevel``, ``pauseCheckpoint``, ``stopCheckpoint``. ts_scriptqueue's ``do_add``
  acks with ``result=str(index)``: the script's SAL index comes back in the ack. The ack
  is sent once the script's process started; if that takes longer than the commander's
  timeout, the answer is a 504 although the script may be in the queue (said in the error).
- ``cmd_stopScripts`` ``{"salIndices": [400 ints, 0-padded], "length", "terminate"}``;
  the queue ignores indices it does not know or that already ended; with ``terminate``
  false a running script is sent ``stop`` (it ends STOPPED), a waiting one is terminated
  (process TERMINATED).

Websocket (``ws(s)://<host>/love/manager/ws/subscription?token=<key>``; the query must be
exactly ``token=<key>``: the manager reads ``query_string[6:]``; an unknown token is closed
before being accepted, which the ASGI server answers 403 on the handshake (Channels
behaviour, unconfirmed on the site's ingress)). Send ``{"option": "subscribe",
"category": "event", "csc", "salindex", "stream"}``; confirmed with ``{"data":
"Successfully subscribed to event-<csc>-<salindex>-<stream>"}``; on an event
subscription the producers re-send their last sample. Data arrive as ``{"category":
"event", "data": [{"csc", "salindex", "data": {<stream>: <payload>}}], "subscription"}``.
We subscribe, before queueing anything, to what the LOVE ScriptQueue view itself uses:

- ``ScriptQueueState``/<queue>/``scriptsStream``: ``{"current_scripts", "waiting_scripts",
  "finished_scripts"}``, lists of ``{"index", "path", "process_state", "script_state",
  "last_checkpoint", ...}`` with the ts_xml enum *names* (``ScriptProcessState``,
  ``ScriptState``), from the ScriptQueue ``script``/``queue`` events and the Script
  ``state`` events;
- ``ScriptQueueState``/<queue>/``stateStream``: ``{"enabled", "running"}`` (a queue that is
  not running does not start the next script; ts_scriptqueue pauses itself after a script
  fails, leaving the failed script current);
- ``Script``/<script index>/``logMessage`` (after the ack, once the index is known): the
  script's ``logMessage`` samples ``[{"level": {"value"}, "message": {"value"},
  "traceback": {"value"}, ...}]``, forwarded while the script is current or waiting. The
  Script ``state`` event's ``reason`` is *not* forwarded by the producer, so a failure's
  explanation is the script's last ERROR log message (salobj logs "Error in run" with the
  traceback for an unexpected exception, "config(...) failed" for a bad configuration;
  a script that raises ``ExpectedError`` logs nothing and we can only name its state).

A script has ended when its ``process_state`` is DONE (the outcome is then its
``script_state``: DONE, FAILED, STOPPED...) or LOADFAILED, CONFIGURE_FAILED, TERMINATED.
Only DONE/DONE is success. A script seen in the queue and then listed nowhere was removed
before it ran (stopped while waiting) if it was waiting, or is lost to us if it was current
(the finished list holds the last 10 only): then we say so rather than guess.
An EFD query (``efd/logmessages``) could recover a finished script's log; not used here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from enum import IntEnum
from http import HTTPStatus
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.base import Integration, Report
from integrations.errors import IntegrationError, IntegrationTimeout


class ScriptProcessState(IntEnum):
    """ts_xml ``ScriptProcessState``: where a queued script's process is."""

    UNKNOWN = 0
    LOADING = 1
    CONFIGURED = 2
    RUNNING = 3
    DONE = 4
    LOADFAILED = 5
    CONFIGURE_FAILED = 6
    TERMINATED = 7


@dataclass(frozen=True, slots=True)
class ScriptRun:
    """How a script ended in the queue."""

    queue: int
    script_index: int
    final_state: str
    """The script's final ScriptState name (DONE, FAILED, STOPPED...)."""
    message: str = ""


@dataclass(frozen=True, slots=True)
class QueueState:
    """A ScriptQueue as LOVE shows it: running or paused, and its current script."""

    queue: int
    running: bool | None
    """False: paused (after a failed script, or by someone); None: LOVE did not say."""
    current: str = ""
    """The current script, as ``path (script N) STATE``; empty when there is none."""

    def line(self) -> str:
        """One line for the lead: ``ScriptQueue 1 is paused; current: ... FAILED``."""
        what = {True: "running", False: "paused", None: "in an unknown state"}[self.running]
        current = f"; current: {self.current}" if self.current else ""
        return f"ScriptQueue {self.queue} is {what}{current}"


class Love(Integration, Protocol):
    """The LOVE manager of one site, and through it its ScriptQueues and CSCs."""

    async def run_script(
        self,
        *,
        queue: int,
        path: str,
        standard: bool,
        config: str,
        description: str,
        report: Report,
    ) -> ScriptRun:
        """Add a script at the end of ScriptQueue ``queue`` and wait until it ends.

        Returns when it ended DONE; raises :class:`IntegrationError` with the script's own
        message when it failed, was stopped, or could not be queued.
        """
        ...

    async def command(
        self, *, csc: str, index: int, command: str, params: dict[str, Any] | None = None
    ) -> str:
        """Send ``cmd_<command>`` to ``csc:index``; return the final ack's text."""
        ...

    async def queue_state(self, queue: int) -> QueueState:
        """Whether ScriptQueue ``queue`` is running or paused, and its current script."""
        ...

    async def resume(self, queue: int) -> None:
        """``cmd_resume`` ScriptQueue ``queue``: it starts its next script again."""
        ...


# --- the real client ---------------------------------------------------------------------------

LOCATION_LAST = 2
"""ts_xml ``ScriptQueue.Location.LAST``: ``cmd_add`` puts the script at the end of the queue."""
LOG_LEVEL = 20
"""``logLevel`` of the added script: INFO, what the LOVE frontend sends by default."""
STOP_SCRIPTS_SIZE = 400
"""ts_xml ``ScriptQueue_command_stopScripts.salIndices`` Count: the array is always this long,
zero-padded (the LOVE frontend sends ``new Array(400).fill(0)``), ``length`` says how many
entries count."""
ERROR_LEVEL = 40
"""Python's logging.ERROR: a Script ``logMessage`` at or above it explains a failure."""
_ENDED_PROCESS = frozenset({"LOADFAILED", "CONFIGURE_FAILED", "TERMINATED"})
"""ScriptProcessState names of a script that ended without running to its own end."""
_SUBSCRIBED = "Successfully subscribed to "
"""How the manager confirms a subscription (``subscription/consumers.py``)."""
_RELOGIN_STATUSES = frozenset({401})
"""The token was refused (expired: deleted by the manager; or unknown): log in once more."""
_WS_REFUSED = frozenset({401, 403})
"""Websocket handshake statuses of an unknown token (Channels closes before accepting)."""


@dataclass(frozen=True, slots=True)
class _Answer:
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


class LoveClient:
    """One site's LOVE manager: its REST API for commands, its websocket to follow scripts.

    The messages it relies on, with their sources, are in the module docstring.
    """

    system = "LOVE"

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: SecretStr,
        timeout: float = 10.0,
        command_timeout: float = 60.0,
        script_timeout: float = 7200.0,
        heartbeat: float = 20.0,
        retry_delay: float = 1.0,
        reconnects: int = 5,
    ) -> None:
        """``url`` is LOVE's root, ``https://<fqdn>/love``.

        ``timeout`` bounds a login, a ping and the websocket handshake and subscriptions;
        ``command_timeout`` a command (the commander itself waits up to its own timeout for
        the final ack, and ``stopScripts`` extends it); ``script_timeout`` how long
        :meth:`run_script` follows a script (it keeps running after: :meth:`cancel` stops it).
        ``heartbeat`` is the websocket ping period, which also keeps proxies from closing an
        idle connection; a dropped websocket is reopened up to ``reconnects`` times per run.
        A ping that met a refused connection or a 5xx is tried once more after ``retry_delay``.
        """
        base = URL(url.rstrip("/"))
        if not base.is_absolute() or base.scheme not in {"http", "https"}:
            raise ValueError(f"LOVE url must be an absolute http(s) URL: {url!r}")
        self._api = f"{base}/manager/api/"
        ws_scheme = "wss" if base.scheme == "https" else "ws"
        self._ws_url = f"{base.with_scheme(ws_scheme)}/manager/ws/subscription"
        self.host = f"{base.host}:{base.explicit_port}" if base.explicit_port else str(base.host)
        self._username = username
        self._password = password
        self._timeout = timeout
        self._command_timeout = command_timeout
        self._script_timeout = script_timeout
        self._heartbeat = heartbeat
        self._retry_delay = retry_delay
        self._reconnects = reconnects
        self._session: aiohttp.ClientSession | None = None
        self._token: SecretStr | None = None
        self._old_tokens: list[SecretStr] = []
        """Tokens given up on, still scrubbed from any text we pass on."""
        self._login_lock = asyncio.Lock()
        self._mine: set[tuple[int, int]] = set()
        """(queue, script index) of scripts this client queued and has not seen end."""

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the Love interface ---

    async def ping(self) -> None:
        """The manager answers and takes our credentials, and the user may command.

        ``validate-token`` is the cheapest authenticated read; logging in first (only when we
        hold no token) is what proves the password.
        """
        answer = await self._get("validate-token/no_config/")
        body = answer.json_object()
        if answer.status != HTTPStatus.OK:
            raise self._refused("GET validate-token", answer)
        if body is None:
            raise self._malformed("GET validate-token", answer)
        permissions = body.get("permissions")
        if isinstance(permissions, dict) and permissions.get("execute_commands") is False:
            raise self._error(
                f"user {self._username!r} may not command the observatory "
                "(permissions.execute_commands is false)",
                status=answer.status,
            )

    async def command(
        self, *, csc: str, index: int, command: str, params: dict[str, Any] | None = None
    ) -> str:
        """Send ``cmd_<command>`` through the commander; the final ack's result text."""
        name = command if command.startswith("cmd_") else f"cmd_{command}"
        return await self._command(csc, index, name, params or {})

    async def queue_state(self, queue: int) -> QueueState:
        """Subscribe to the queue's streams and read the samples the producer re-sends.

        A queue whose producer sends nothing within the timeout is reported as unknown
        (``running`` None) rather than guessed.
        """
        watch = _Watch(queue)
        try:
            await self._attach(watch)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timeout):
                    while watch.running is None and not watch.closed:
                        watch.changed.clear()
                        await watch.changed.wait()
        finally:
            await watch.close()
        current = ""
        if watch.current:
            index = watch.current[0]
            path = str(watch.scripts[index].get("path", "script"))
            current = f"{path} (script {index}) {watch.state(index)}"
        return QueueState(queue=queue, running=watch.running, current=current)

    async def resume(self, queue: int) -> None:
        """``cmd_resume`` (no parameters, ts_xml ``ScriptQueue_command_resume``)."""
        await self._command("ScriptQueue", queue, "cmd_resume", {})

    async def run_script(
        self,
        *,
        queue: int,
        path: str,
        standard: bool,
        config: str,
        description: str,
        report: Report,
    ) -> ScriptRun:
        """Queue the script last on ScriptQueue ``queue`` and follow it to its end.

        The websocket subscriptions are made before ``cmd_add`` so no update is missed. The
        script is remembered for :meth:`cancel` until it is seen to end: a caller that gives up
        (cancelled, timed out) leaves it running in the queue, as LOVE would.
        """
        watch = _Watch(queue)
        try:
            await self._attach(watch)
            index = await self._add(
                queue, path, standard=standard, config=config, descr=description
            )
            self._mine.add((queue, index))
            watch.logs_of(index)
            # Not waited for: the run goes on without the script's log if this one is late.
            await self._subscribe(watch, watch.log_subscription(index), send_only=True)
            final = await self._follow(watch, index, path, report)
        finally:
            await watch.close()
        self._mine.discard((queue, index))
        if final == "DONE":
            return ScriptRun(queue=queue, script_index=index, final_state=final)
        errors = watch.errors.get(index, [])
        why = errors[-1] if errors else _no_message(final)
        hint = ""
        if final == "FAILED":
            hint = (
                f"\nScriptQueue {queue} pauses after a failed script (ts_scriptqueue): "
                "the next script queued waits until it is resumed."
            )
        raise self._error(
            f"{path} (script {index}) on ScriptQueue {queue} ended {final}: {why}",
            system="ScriptQueue",
            status=final,
            detail=("\n".join(errors) + hint).strip() or None,
        )

    async def cancel(self) -> None:
        """Stop every script this client queued and has not seen end.

        One ``cmd_stopScripts`` per queue, ``terminate`` false: a running script gets its
        ``stop`` command and may clean up (the queue terminates it if it does not stop).
        """
        by_queue: dict[int, list[int]] = {}
        for queue, index in sorted(self._mine):
            by_queue.setdefault(queue, []).append(index)
        problems: list[IntegrationError] = []
        for queue, indices in by_queue.items():
            chunk = indices[:STOP_SCRIPTS_SIZE]
            params = {
                "salIndices": chunk + [0] * (STOP_SCRIPTS_SIZE - len(chunk)),
                "length": len(chunk),
                "terminate": False,
            }
            try:
                await self._command("ScriptQueue", queue, "cmd_stopScripts", params)
            except IntegrationError as e:
                problems.append(e)
                continue
            self._mine.difference_update((queue, index) for index in chunk)
        if problems:
            raise problems[0]

    # --- commands ---

    async def _command(self, csc: str, index: int, cmd: str, params: dict[str, Any]) -> str:
        what = f"{cmd} to {csc}:{index}"
        payload = {"csc": csc, "salindex": index, "cmd": cmd, "params": params}
        answer = await self._authed("POST", "cmd/", payload=payload, limit=self._command_timeout)
        if answer.status != HTTPStatus.OK:
            raise self._refused(what, answer)
        body = answer.json_object()
        if body is None or "ack" not in body:
            raise self._malformed(what, answer)
        return str(body["ack"])

    async def _add(self, queue: int, path: str, *, standard: bool, config: str, descr: str) -> int:
        params = {
            "isStandard": standard,
            "path": path,
            "config": config,
            "descr": descr,
            "location": LOCATION_LAST,
            "logLevel": LOG_LEVEL,
            "pauseCheckpoint": "",
            "stopCheckpoint": "",
        }
        try:
            ack = await self._command("ScriptQueue", queue, "cmd_add", params)
        except IntegrationError as e:
            if e.status != HTTPStatus.GATEWAY_TIMEOUT:
                raise
            raise IntegrationError(
                e.system,
                f"{e.message}; {path} may still have been queued: look at ScriptQueue {queue} "
                "in LOVE",
                host=e.host,
                status=e.status,
                detail=e.detail,
            ) from None
        try:
            return int(ack)
        except ValueError:
            raise self._error(
                f"cmd_add to ScriptQueue:{queue} was acknowledged without a script index "
                f"(ack {ack!r}); {path} may be queued: look at ScriptQueue {queue} in LOVE",
                status=int(HTTPStatus.OK),
            ) from None

    # --- following a script ---

    async def _follow(self, watch: _Watch, index: int, path: str, report: Report) -> str:
        """Report each change of the script's state; its final state once it ended."""
        last = ""
        reconnects = 0
        try:
            async with asyncio.timeout(self._script_timeout):
                while True:
                    watch.changed.clear()
                    final = watch.final(index)
                    if final is None and index in watch.lost_track:
                        raise self._error(
                            f"{path} (script {index}) left ScriptQueue {watch.queue}'s lists "
                            f"while {watch.state(index)}: its end is unknown; look at the "
                            "queue in LOVE",
                            system="ScriptQueue",
                        )
                    line = watch.line(index, path)
                    if line != last:
                        await report(line)
                        last = line
                    if final is not None:
                        return final
                    if watch.closed:
                        reconnects += 1
                        if reconnects > self._reconnects:
                            raise self._error(
                                f"lost LOVE's websocket {reconnects - 1} times while following "
                                f"{path} (script {index}, last {watch.state(index)}); it may "
                                f"still run: look at ScriptQueue {watch.queue} in LOVE"
                            )
                        await asyncio.sleep(self._retry_delay)
                        with contextlib.suppress(IntegrationError):  # counted: tried again
                            await self._attach(watch)
                        continue
                    await watch.changed.wait()
        except TimeoutError:
            raise IntegrationTimeout(
                "ScriptQueue",
                f"{path} (script {index}) still {watch.state(index)} after "
                f"{self._script_timeout:g}s; it keeps running in ScriptQueue {watch.queue} "
                "(cancel stops it)",
                host=self.host,
            ) from None

    async def _attach(self, watch: _Watch) -> None:
        """Open a websocket for ``watch`` and make (again) all its subscriptions."""
        await watch.close()
        watch.attach(await self._open_ws())
        for subscription in watch.subscriptions:
            await self._subscribe(watch, subscription, send_only=True)
        await self._confirmed(watch, [_group(s) for s in watch.subscriptions])

    async def _subscribe(
        self, watch: _Watch, subscription: dict[str, Any], *, send_only: bool = False
    ) -> None:
        if subscription not in watch.subscriptions:
            watch.subscriptions.append(subscription)
        try:
            await watch.send(subscription)
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            watch.closed = True  # the follow loop reconnects and subscribes again
            return
        if not send_only:
            await self._confirmed(watch, [_group(subscription)])

    async def _confirmed(self, watch: _Watch, groups: list[str]) -> None:
        """Wait for the manager's confirmation of each subscription."""
        try:
            async with asyncio.timeout(self._timeout):
                while not watch.closed and not set(groups) <= watch.confirmed:
                    watch.changed.clear()
                    await watch.changed.wait()
        except TimeoutError:
            missing = sorted(set(groups) - watch.confirmed)
            raise IntegrationTimeout(
                self.system,
                f"websocket subscription to {', '.join(missing)} not confirmed in "
                f"{self._timeout:g}s",
                host=self.host,
            ) from None

    async def _open_ws(self) -> aiohttp.ClientWebSocketResponse:
        """Connect the subscription websocket; a refused token is renewed once."""
        token = await self._ensure_token()
        try:
            return await self._ws_connect(token)
        except _TokenRefusedError:
            token = await self._login(stale=token)
        try:
            return await self._ws_connect(token)
        except _TokenRefusedError as e:
            raise self._error(
                "websocket /manager/ws/subscription refused the token right after a new login",
                status=e.status,
            ) from None

    async def _ws_connect(self, token: SecretStr) -> aiohttp.ClientWebSocketResponse:
        where = "websocket /manager/ws/subscription"
        url = f"{self._ws_url}?token={token.get_secret_value()}"
        try:
            async with asyncio.timeout(self._timeout):
                return await self._http().ws_connect(url, heartbeat=self._heartbeat)
        except aiohttp.WSServerHandshakeError as e:
            # str(e) carries the URL, hence the token: only the status is kept.
            if e.status in _WS_REFUSED:
                raise _TokenRefusedError(e.status) from None
            raise self._error(f"{where} refused: HTTP {e.status}", status=e.status) from None
        except TimeoutError:
            raise IntegrationTimeout(
                self.system, f"{where}: no answer in {self._timeout:g}s", host=self.host
            ) from None
        except aiohttp.ClientConnectionError as e:
            raise self._error(f"{where}: cannot connect: {type(e).__name__}") from None

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
            payload = {"username": self._username, "password": self._password.get_secret_value()}
            answer = await self._send("POST", "get-token/", token=None, payload=payload)
            if answer.status == HTTPStatus.BAD_REQUEST:
                raise self._error(
                    f"login as {self._username!r} refused: wrong username or password",
                    status=answer.status,
                    detail=answer.text,
                )
            if answer.status != HTTPStatus.OK:
                raise self._refused(f"login as {self._username!r}", answer)
            body = answer.json_object()
            key = body.get("token") if body is not None else None
            if not isinstance(key, str) or not key:
                raise self._malformed(f"login as {self._username!r} (no token)", answer)
            self._token = SecretStr(key)
            return self._token

    async def _authed(
        self, method: str, path: str, *, payload: dict[str, Any] | None = None, limit: float
    ) -> _Answer:
        """One call with the token; on 401 log in again and repeat it once."""
        token = await self._ensure_token()
        answer = await self._send(method, path, token=token, payload=payload, limit=limit)
        if answer.status in _RELOGIN_STATUSES:
            token = await self._login(stale=token)
            answer = await self._send(method, path, token=token, payload=payload, limit=limit)
        return answer

    async def _get(self, path: str) -> _Answer:
        """A GET, asked once more after a refused connection or a 5xx (not after a timeout)."""
        try:
            answer = await self._authed("GET", path, limit=self._timeout)
        except IntegrationTimeout:
            raise
        except IntegrationError as e:
            if e.status is not None and not _server_error(e.status):
                raise
        else:
            if not _server_error(answer.status):
                return answer
        await asyncio.sleep(self._retry_delay)
        return await self._authed("GET", path, limit=self._timeout)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: SecretStr | None,
        payload: dict[str, Any] | None = None,
        limit: float | None = None,
    ) -> _Answer:
        limit = self._timeout if limit is None else limit
        headers = {"Authorization": f"Token {token.get_secret_value()}"} if token else {}
        try:
            async with self._http().request(
                method,
                self._api + path,
                json=payload,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as response:
                return _Answer(response.status, await response.text(errors="replace"))
        except TimeoutError:
            raise IntegrationTimeout(
                self.system, f"{method} {path}: no answer in {limit:g}s", host=self.host
            ) from None
        except aiohttp.ClientConnectionError as e:
            raise self._error(f"{method} {path}: cannot connect: {e}") from None
        except aiohttp.ClientError as e:
            raise self._error(f"{method} {path}: {type(e).__name__}: {e}") from None

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

    def _error(
        self,
        message: str,
        *,
        system: str | None = None,
        status: int | str | None = None,
        detail: str | None = None,
    ) -> IntegrationError:
        return IntegrationError(
            system or self.system,
            self._scrub(message),
            host=self.host,
            status=status,
            detail=self._scrub(detail) if detail else None,
        )

    def _refused(self, what: str, answer: _Answer) -> IntegrationError:
        """A non-200 answer, worded by its status, with what LOVE said as the detail."""
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
        return self._error(message, status=status, detail=said or answer.text)

    def _malformed(self, what: str, answer: _Answer) -> IntegrationError:
        return self._error(
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


def _no_message(final: str) -> str:
    if final == "STOPPED":
        return "stopped (cmd_stopScripts)"
    return "no error message from the script reached LOVE (see its log in LOVE or the EFD)"


def _group(subscription: dict[str, Any]) -> str:
    """The manager's group name of a subscription: ``category-csc-salindex-stream``."""
    parts = ("category", "csc", "salindex", "stream")
    return "-".join(str(subscription[part]) for part in parts)


def _subscription(csc: str, salindex: int, stream: str) -> dict[str, Any]:
    return {
        "option": "subscribe",
        "category": "event",
        "csc": csc,
        "salindex": salindex,
        "stream": stream,
    }


def _int(value: object) -> int | None:
    """An index as LOVE may send it: a number, or its text (the frontend sends ``"1"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str | float):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _value(field: object) -> object:
    """A producer field is ``{"value", "dataType", "units"}``; tolerate a bare value."""
    return field.get("value") if isinstance(field, dict) else field


def _log_text(sample: dict[str, Any]) -> str:
    """A log message, with the exception line of its traceback when there is one."""
    text = str(_value(sample.get("message")) or "").strip()
    lines = [line for line in str(_value(sample.get("traceback")) or "").splitlines() if line]
    last = lines[-1].strip() if lines else ""
    if last and last not in text:
        text = f"{text}: {last}" if text else last
    return text


class _Watch:
    """What the websocket told us about one ScriptQueue and the scripts we follow on it."""

    def __init__(self, queue: int) -> None:
        self.queue = queue
        self.subscriptions: list[dict[str, Any]] = [
            _subscription("ScriptQueueState", queue, "scriptsStream"),
            _subscription("ScriptQueueState", queue, "stateStream"),
        ]
        self.scripts: dict[int, dict[str, Any]] = {}
        """The latest entry seen of every script listed in the queue."""
        self.where: dict[int, str] = {}
        """current / waiting / finished, for the scripts listed in the latest scriptsStream."""
        self.last_where: dict[int, str] = {}
        """Where each script was last seen, even after it left the lists."""
        self.waiting: list[int] = []
        self.current: list[int] = []
        self.lost_track: set[int] = set()
        self.running: bool | None = None
        self.errors: dict[int, list[str]] = {}
        self.confirmed: set[str] = set()
        self.changed = asyncio.Event()
        self.closed = True
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    def log_subscription(self, index: int) -> dict[str, Any]:
        return _subscription("Script", index, "logMessage")

    def logs_of(self, index: int) -> None:
        self.errors.setdefault(index, [])

    def attach(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read ``ws`` in the background from now on (subscriptions are confirmed anew)."""
        self._ws = ws
        self.closed = False
        self.confirmed = set()
        self._reader = asyncio.create_task(self._read(ws))

    async def send(self, message: dict[str, Any]) -> None:
        if self._ws is None or self._ws.closed:
            raise ConnectionError("websocket closed")
        await self._ws.send_str(json.dumps(message))

    async def close(self) -> None:
        ws, reader = self._ws, self._reader
        self._ws, self._reader = None, None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self.closed = True

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    self._on_text(message.data)
                elif message.type is aiohttp.WSMsgType.ERROR:
                    break
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self.closed = True
            self.changed.set()

    def _on_text(self, text: str) -> None:
        """One frame; frames we cannot read are dropped (one bad frame must not end a run)."""
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if "category" not in message:
            data = message.get("data")
            if isinstance(data, str) and data.startswith(_SUBSCRIBED):
                self.confirmed.add(data.removeprefix(_SUBSCRIBED))
        elif message["category"] == "event" and isinstance(message.get("data"), list):
            for item in message["data"]:
                if isinstance(item, dict) and isinstance(item.get("data"), dict):
                    self._on_item(item.get("csc"), _int(item.get("salindex")), item["data"])
        self.changed.set()

    def _on_item(self, csc: object, salindex: int | None, streams: dict[str, Any]) -> None:
        if csc == "ScriptQueueState" and salindex == self.queue:
            scripts = streams.get("scriptsStream")
            if isinstance(scripts, dict):
                self._on_scripts(scripts)
            state = streams.get("stateStream")
            if isinstance(state, dict) and isinstance(state.get("running"), bool):
                self.running = state["running"]
        elif csc == "Script" and salindex in self.errors:
            samples = streams.get("logMessage")
            for sample in samples if isinstance(samples, list) else [samples]:
                if not isinstance(sample, dict):
                    continue
                level = _int(_value(sample.get("level")))
                text = _log_text(sample)
                if level is not None and level >= ERROR_LEVEL and text:
                    errors = self.errors[salindex]
                    if text not in errors:  # the producer re-sends on every subscription
                        errors.append(text)

    def _on_scripts(self, stream: dict[str, Any]) -> None:
        where: dict[int, str] = {}
        lists: dict[str, list[int]] = {}
        for place in ("current", "waiting", "finished"):
            entries = stream.get(f"{place}_scripts")
            lists[place] = []
            for entry in entries if isinstance(entries, list) else []:
                index = _int(entry.get("index")) if isinstance(entry, dict) else None
                if index is None:
                    continue
                self.scripts[index] = entry
                where[index] = place
                lists[place].append(index)
        for index, place in self.where.items():
            if index not in where and place != "waiting":
                self.lost_track.add(index)
        self.lost_track.difference_update(where)
        self.where = where
        self.last_where.update(where)
        self.waiting, self.current = lists["waiting"], lists["current"]

    def final(self, index: int) -> str | None:
        """The script's final state once it ended, else None."""
        entry = self.scripts.get(index)
        if entry is None:
            return None
        process, script = entry.get("process_state"), entry.get("script_state")
        if process == "DONE":
            return str(script)
        if process in _ENDED_PROCESS:
            return "CONFIGURE_FAILED" if script == "CONFIGURE_FAILED" else str(process)
        if index not in self.where and self.last_where.get(index) == "waiting":
            return "TERMINATED"  # stopped while waiting: removed from the queue
        return None

    def state(self, index: int) -> str:
        """The script's state as LOVE shows it: its ScriptState, else its process state."""
        entry = self.scripts.get(index)
        if entry is None:
            return "queued"
        script, process = entry.get("script_state"), entry.get("process_state")
        if script and script != "UNKNOWN":
            return str(script)
        if process and process != "UNKNOWN":
            return str(process)
        return "queued"

    def line(self, index: int, path: str) -> str:
        """A progress line: ``system_wide_shutdown.py (script 100123) RUNNING``."""
        final = self.final(index)
        line = f"{path} (script {index}) {final or self.state(index)}"
        if index in self.scripts and final is None:
            if self.where.get(index) == "waiting":
                ahead = self.waiting.index(index) + len(self.current)
                if ahead:
                    line += f", waiting behind {ahead} script(s)"
                if self.running is False:
                    line += f"; ScriptQueue {self.queue} is paused"
            checkpoint = self.scripts[index].get("last_checkpoint")
            if checkpoint and self.where.get(index) == "current":
                line += f": {checkpoint}"
        elif index not in self.scripts:
            line += f" on ScriptQueue {self.queue}"
        return line
