"""A fake LOVE manager on loopback: its REST API and its subscription websocket.

It answers as the real pieces do (read from their code, 2025-2026): lsst-ts/LOVE-manager
(``manager/api/urls.py``, ``views.py``, ``authentication.py``, ``manager/permissions.py``,
``subscription/consumers.py``, ``auth.py``), the LOVE-commander the manager forwards commands to
(``commands.py``), the LOVE-producer that feeds the websocket (``love_producer_script_queue.py``)
and the ScriptQueue behind it (ts_scriptqueue ``queue_model.py``: a failed script stays current
and pauses the queue; ``cmd_add`` acks with the script's index; ``stopScripts`` ignores indices
it does not know). Scripts play out their states over a few short steps.

Misbehaviours on demand: ``slow`` (seconds before every HTTP answer), ``broken`` (every API
call answers that 5xx with an HTML page), ``malformed`` (200 with a body that is not JSON),
``ws_status`` (the websocket handshake answered with that status), ``forbidden`` (403 on
``cmd/``: the user may not command), ``down`` (``"CSC:index"`` whose commands time out: 504),
``rejected`` (command names the CSC rejects: the commander crashes and the manager answers a
non-JSON 500), ``late`` (command name -> ``"504"``, ``"hang"`` or ``"drop"``: the command is
carried out, then the commander times out, the answer never comes, or the connection drops:
``cmd_add`` acks only once the script's process started, so a script can be queued although
the caller saw no answer), ``expire_tokens()`` / ``expire_on_issue``, ``outcomes`` (a script
path ending FAILED or CONFIGURE_FAILED with a message) and ``drop_websockets()``.

A ScriptQueue sent OFFLINE (``cmd_exitControl``, or :meth:`FakeLove.queue_exits` from a test's
world) closes as ts_scriptqueue does (``ScriptQueue.close_tasks`` -> ``QueueModel.close`` ->
``terminate_all``): its scripts are terminated, the one that sent it OFFLINE included, and the
producer has nothing more to say of it: its streams end, its commands time out.

``on_run`` (default: nothing) is awaited once a script is running, with the script: the hook
through which a test couples the fake to the rest of a site (the script's effect on the CSCs).
If it raises, the script fails with the exception's text, as a script whose commands failed.
``on_command`` (default: nothing) is awaited with every command the commander carries out
(``{"csc", "salindex", "cmd", "params"}``) before its ack: the CSC's own doing (a generic state
command's effect on the site, ``cmd_enterControl`` taking a camera to STANDBY). If it raises,
the CSC rejected the command: LOVE-commander does not catch that (``commands.py`` handles
``AckTimeoutError`` only) and the manager answers a non-JSON 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler

API = "/love/manager/api"
WS = "/love/manager/ws/subscription"
FIRST_INDEX = 100001
FINISHED_SIZE = 10
"""LOVE-producer's ``FINISHED_SCRIPTS_LIST_SIZE`` default."""
TIMED_OUT = "Command time out. No ack received from component."
NOT_ALLOWED = "Your user is not allowed to command the observatory."
_ENDED = frozenset({"DONE", "TERMINATED", "CONFIGURE_FAILED", "LOADFAILED"})
"""Process states of a script that no longer runs."""
HTML_500 = "<!doctype html>\n<html><title>Server Error (500)</title><h1>Server Error (500)</h1>"


@dataclass
class Call:
    """One HTTP request the fake got."""

    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeScript:
    """A script in a fake ScriptQueue, as the producer describes it."""

    index: int
    queue: int
    path: str
    standard: bool
    config: str
    descr: str
    process_state: str = "LOADING"
    script_state: str = "UNKNOWN"
    last_checkpoint: str = ""
    logs: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def entry(self) -> dict[str, Any]:
        """The producer's ``get_empty_script`` shape, filled in."""
        return {
            "remote": None,
            "setup": True,
            "index": self.index,
            "path": self.path,
            "type": "standard" if self.standard else "external",
            "process_state": self.process_state,
            "script_state": self.script_state,
            "timestampConfigureEnd": 0,
            "timestampConfigureStart": 0,
            "timestampProcessEnd": 0,
            "timestampProcessStart": 0,
            "timestampRunStart": 0,
            "expected_duration": 0,
            "last_checkpoint": self.last_checkpoint,
            "description": self.descr,
            "classname": "",
            "remotes": "",
            "last_heartbeat_timestamp": 0,
            "lost_heartbeats": 0,
            "pause_checkpoints": "",
            "stop_checkpoints": "",
            "log_level": 20,
        }


@dataclass
class FakeQueue:
    """One ScriptQueue: waiting scripts, the current one, the history (newest first)."""

    index: int
    waiting: list[int] = field(default_factory=list)
    current: int | None = None
    finished: list[int] = field(default_factory=list)
    running: bool = True
    enabled: bool = True
    exited: bool = False
    """Sent OFFLINE: its process closed, nothing more is published of it."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at every change of the queue (whenever its scripts are published)."""


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    groups: set[str] = field(default_factory=set)


async def _nothing(_script: FakeScript) -> None:
    """The default :attr:`FakeLove.on_run`: a script affects nothing outside the fake."""


async def _accepted(_command: dict[str, Any]) -> None:
    """The default :attr:`FakeLove.on_command`: every CSC takes every command."""


def _field(value: Any) -> dict[str, Any]:
    """A topic field as the producer sends it."""
    kind = "Int" if isinstance(value, int) else "String"
    return {"value": value, "dataType": kind, "units": "None"}


class FakeLove:
    """The LOVE manager of a fake site (with its commander, producer and ScriptQueues)."""

    def __init__(
        self,
        *,
        username: str = "upgrade-bot",
        password: str = "correct horse battery staple",  # noqa: S107 - the fake's own test login
        step: float = 0.01,
        run_time: float = 0.05,
    ) -> None:
        """``step`` seconds between a script's states, ``run_time`` seconds it runs."""
        self.username = username
        self.password = password
        self.step = step
        self.run_time = run_time
        self.calls: list[Call] = []
        self.commands: list[dict[str, Any]] = []
        """Bodies of ``cmd/`` requests that reached the commander (with ``identity``)."""
        self.ws_received: list[dict[str, Any]] = []
        self.ws_tokens: list[str] = []
        self.logins = 0
        self.tokens: dict[str, bool] = {}
        """Live token keys, and whether each has expired."""
        self.expire_on_issue = False
        self.slow = 0.0
        self.broken: int | None = None
        self.malformed = False
        self.ws_status: int | None = None
        """Answer the websocket handshake with this status (a proxy that will not upgrade)."""
        self.forbidden = False
        self.down: set[str] = set()
        self.rejected: set[str] = set()
        self.late: dict[str, str] = {}
        """Command name -> how its answer goes missing after it was carried out."""
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.on_run: Callable[[FakeScript], Awaitable[None]] = _nothing
        """Awaited when a script starts running (what the script does to the site)."""
        self.on_command: Callable[[dict[str, Any]], Awaitable[None]] = _accepted
        """Awaited with a command to a CSC (not a ScriptQueue) before its ack; raises: refused."""
        self.queues: dict[int, FakeQueue] = {i: FakeQueue(i) for i in (1, 2, 3)}
        self.scripts: dict[int, FakeScript] = {}
        self._next = FIRST_INDEX
        self._sockets: list[_Socket] = []
        self.server: TestServer | None = None
        self.url = ""
        """LOVE's root URL once started (``http://127.0.0.1:<port>/love``)."""
        self.app = web.Application(middlewares=[self._misbehave])
        self.app.router.add_post(f"{API}/get-token/", self._get_token)
        self.app.router.add_get(f"{API}/validate-token/", self._validate)
        self.app.router.add_get(f"{API}/validate-token/{{flags}}/", self._validate)
        self.app.router.add_post(f"{API}/cmd/", self._cmd)
        self.app.router.add_get(WS, self._ws)

    # --- serving ---

    async def start(self) -> str:
        """Serve on 127.0.0.1; LOVE's root URL (``http://127.0.0.1:<port>/love``)."""
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        self.url = str(self.server.make_url("/love"))
        return self.url

    async def stop(self) -> None:
        """Stop the scripts, close the websockets and the server."""
        for script in self.scripts.values():
            if script.task is not None:
                script.task.cancel()
        await self.drop_websockets()
        if self.server is not None:
            await self.server.close()

    async def drop_websockets(self) -> None:
        """Close every websocket (a manager restart, a proxy timeout)."""
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            await sock.ws.close()

    def expire_tokens(self) -> None:
        """Every token issued so far is now older than ``TOKEN_EXPIRED_AFTER_DAYS``."""
        for key in self.tokens:
            self.tokens[key] = True

    def stop_scripts_calls(self) -> list[dict[str, Any]]:
        """The ``cmd_stopScripts`` commands received."""
        return [c for c in self.commands if c["cmd"] == "cmd_stopScripts"]

    # --- HTTP ---

    @web.middleware
    async def _misbehave(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == WS:
            return await handler(request)
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        self.calls.append(
            Call(request.method, request.path, body, request.headers.get("Authorization"))
        )
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.broken is not None:
            return web.Response(status=self.broken, text=HTML_500, content_type="text/html")
        if self.malformed:
            return web.Response(status=200, text="<html>LOVE</html>{", content_type="text/html")
        return await handler(request)

    def _user_data(self, key: str) -> dict[str, Any]:
        """``TokenSerializer``'s fields."""
        return {
            "user": {"username": self.username, "email": "", "first_name": "", "last_name": ""},
            "token": key,
            "permissions": {"execute_commands": not self.forbidden},
            "time_data": {"utc": 0.0, "tai": 37.0, "mjd": 0.0, "tai_to_utc": 37.0},
            "config": None,
        }

    async def _get_token(self, request: web.Request) -> web.Response:
        data = await request.json()
        if data.get("username") != self.username or data.get("password") != self.password:
            return web.json_response(
                {"non_field_errors": ["Unable to log in with provided credentials."]}, status=400
            )
        self.logins += 1
        key = secrets.token_hex(20)
        self.tokens[key] = self.expire_on_issue
        return web.json_response(self._user_data(key))

    def _authenticate(self, request: web.Request) -> str | web.Response:
        """DRF's ``ExpiringTokenAuthentication``: the key, or the 401 answer."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Token "):
            return web.json_response(
                {"detail": "Authentication credentials were not provided."},
                status=401,
                headers={"WWW-Authenticate": "Token"},
            )
        key = header.removeprefix("Token ")
        if key not in self.tokens:
            detail = "Invalid Token"
        elif self.tokens[key]:
            del self.tokens[key]  # an expired token is deleted on use
            detail = "The Token is expired"
        else:
            return key
        return web.json_response(
            {"detail": detail}, status=401, headers={"WWW-Authenticate": "Token"}
        )

    async def _validate(self, request: web.Request) -> web.Response:
        key = self._authenticate(request)
        if isinstance(key, web.Response):
            return key
        return web.json_response(self._user_data(key))

    async def _cmd(self, request: web.Request) -> web.Response:
        key = self._authenticate(request)
        if isinstance(key, web.Response):
            return key
        if self.forbidden:
            return web.json_response({"ack": NOT_ALLOWED}, status=403)
        data = await request.json()
        data["identity"] = f"{self.username}@127.0.0.1"
        if not all(k in data for k in ("csc", "salindex", "cmd", "params")):
            return web.json_response(
                {
                    "ack": "Request must have JSON data with the following keys: csc, "
                    f"salindex, cmd_name, params, identity. Received {json.dumps(data)}"
                },
                status=400,
            )
        self.commands.append(data)
        answer = await self._commander(data)
        late = self.late.get(data["cmd"])
        if late == "504":
            return web.json_response({"ack": TIMED_OUT}, status=504)
        if late == "hang":
            await asyncio.Event().wait()  # the caller's own timeout ends it
        if late == "drop" and request.transport is not None:
            request.transport.close()
        return answer

    async def _commander(self, data: dict[str, Any]) -> web.Response:
        """LOVE-commander: the CSC's final ack, a 504 time-out, or its crash on a rejection."""
        ref = f"{data['csc']}:{data['salindex']}"
        if ref in self.down:
            return web.json_response({"ack": TIMED_OUT}, status=504)
        if data["cmd"] in self.rejected:
            return web.Response(status=500, text=HTML_500, content_type="text/html")
        if data["csc"] == "ScriptQueue":
            answer = await self._queue_command(self.queues[int(data["salindex"])], data)
            if answer is not None:
                return answer
        try:
            await self.on_command(data)
        except Exception:  # noqa: BLE001  # the CSC refused: the commander crashes
            return web.Response(status=500, text=HTML_500, content_type="text/html")
        if data["csc"] == "ScriptQueue" and data["cmd"] == "cmd_exitControl":
            await self.queue_exits(int(data["salindex"]))
        return web.json_response({"ack": "Done"})

    async def _queue_command(self, queue: FakeQueue, data: dict[str, Any]) -> web.Response | None:
        """A ScriptQueue's own commands: its answer, or ``None`` to go on to the generic ack."""
        if queue.exited:
            return web.json_response({"ack": TIMED_OUT}, status=504)
        if data["cmd"] == "cmd_add":
            return web.json_response({"ack": str(await self._add(queue, data["params"]))})
        if data["cmd"] == "cmd_stopScripts":
            params = data["params"]
            await self._stop(queue, params["salIndices"][: params["length"]])
        if data["cmd"] == "cmd_resume":
            await self._resume(queue)
        if data["cmd"] in {"cmd_disable", "cmd_standby"}:
            queue.enabled = False
            await self._publish_state(queue)
        return None

    async def queue_starts(self, index: int) -> None:
        """ScriptQueue ``index`` runs again (redeployed): empty, ENABLED, running, published."""
        queue = self.queues[index]
        queue.exited = False
        queue.enabled = queue.running = True
        queue.waiting.clear()
        queue.current = None
        await self._publish_state(queue)
        await self._publish_scripts(queue)

    async def queue_exits(self, index: int) -> None:
        """ScriptQueue ``index`` goes OFFLINE: its scripts are terminated, its streams end."""
        queue = self.queues[index]
        for script in self.scripts.values():
            if script.queue == index and script.process_state not in _ENDED:
                script.process_state = "TERMINATED"
                if script.task is not None and script.task is not asyncio.current_task():
                    script.task.cancel()
        queue.exited = True
        queue.enabled = queue.running = False
        queue.changed.set()

    # --- the ScriptQueue and its producer ---

    async def _add(self, queue: FakeQueue, params: dict[str, Any]) -> int:
        index = self._next
        self._next += 1
        script = FakeScript(
            index=index,
            queue=queue.index,
            path=params["path"],
            standard=params["isStandard"],
            config=params["config"],
            descr=params["descr"],
        )
        self.scripts[index] = script
        if params.get("location") == 1:
            queue.waiting.insert(0, index)
        else:
            queue.waiting.append(index)
        await self._publish_scripts(queue)
        script.task = asyncio.create_task(self._life(queue, script))
        return index

    async def _life(self, queue: FakeQueue, script: FakeScript) -> None:
        """Load, configure, wait for its turn, run, end: as ts_scriptqueue plays a script."""
        await asyncio.sleep(self.step)
        script.process_state, script.script_state = "CONFIGURED", "UNCONFIGURED"
        await self._publish_scripts(queue)
        await asyncio.sleep(self.step)
        outcome, message = self.outcomes.get(script.path, ("DONE", ""))
        if outcome == "CONFIGURE_FAILED":
            await self._log(script, f"config({script.config}) failed", f"ValueError: {message}")
            script.process_state = script.script_state = "CONFIGURE_FAILED"
            queue.waiting.remove(script.index)
            self._to_history(queue, script.index)
            await self._publish_scripts(queue)
            return
        script.script_state = "CONFIGURED"
        await self._publish_scripts(queue)
        while not (
            queue.running
            and queue.current is None
            and queue.waiting
            and queue.waiting[0] == script.index
        ):
            queue.changed.clear()
            await queue.changed.wait()
        queue.waiting.remove(script.index)
        queue.current = script.index
        script.process_state = script.script_state = "RUNNING"
        script.last_checkpoint = "start"
        await self._publish_scripts(queue)
        try:
            await self.on_run(script)
        except Exception as e:  # noqa: BLE001  # the script fails, saying why, as a real one would
            outcome, message = "FAILED", f"{type(e).__name__}: {e}"
        if queue.exited:  # it sent its own queue OFFLINE: terminated with it, never DONE
            return
        await asyncio.sleep(self.run_time)
        if outcome == "FAILED":
            script.script_state = "FAILING"
            await self._log(script, "The following components failed:\nATDome::timeout", "")
            tb = f"Traceback (most recent call last):\n  ...\nRuntimeError: {message}\n"
            await self._log(script, "Error in run", tb)
            await self._publish_scripts(queue)
            await asyncio.sleep(self.step)
            script.process_state, script.script_state = "DONE", "FAILED"
            queue.running = False  # a failed script stays current and pauses the queue
            await self._publish_state(queue)
            await self._publish_scripts(queue)
            return
        script.script_state = "ENDING"
        await self._publish_scripts(queue)
        await asyncio.sleep(self.step)
        script.process_state = script.script_state = "DONE"
        queue.current = None
        self._to_history(queue, script.index)
        await self._publish_scripts(queue)

    def _to_history(self, queue: FakeQueue, index: int) -> None:
        queue.finished.insert(0, index)
        del queue.finished[FINISHED_SIZE:]

    async def _stop(self, queue: FakeQueue, indices: list[int]) -> None:
        """``stopScripts``: unknown or ended scripts are ignored."""
        for index in indices:
            script = self.scripts.get(index)
            if script is None or script.queue != queue.index:
                continue
            if script.process_state in {"DONE", "TERMINATED", "CONFIGURE_FAILED"}:
                continue
            if script.task is not None:
                script.task.cancel()
            if queue.current == index:
                script.script_state = "STOPPING"
                await self._publish_scripts(queue)
                script.process_state, script.script_state = "DONE", "STOPPED"
                queue.current = None
            else:
                script.process_state = "TERMINATED"
                with contextlib.suppress(ValueError):
                    queue.waiting.remove(index)
            self._to_history(queue, index)
            await self._publish_scripts(queue)

    async def _resume(self, queue: FakeQueue) -> None:
        if queue.current is not None and self.scripts[queue.current].process_state == "DONE":
            self._to_history(queue, queue.current)
            queue.current = None
        queue.running = True
        await self._publish_state(queue)
        await self._publish_scripts(queue)

    async def _log(self, script: FakeScript, message: str, traceback: str) -> None:
        sample = {
            "salIndex": _field(script.index),
            "name": _field("Script"),
            "level": _field(40),
            "message": _field(message),
            "traceback": _field(traceback),
            "filePath": _field(""),
            "functionName": _field(""),
            "lineNumber": _field(0),
            "process": _field(0),
        }
        script.logs.append(sample)
        await self._publish("Script", script.index, "logMessage", [sample])

    def _scripts_stream(self, queue: FakeQueue) -> dict[str, Any]:
        current = [queue.current] if queue.current is not None else []
        return {
            "current_scripts": [self.scripts[i].entry() for i in current],
            "waiting_scripts": [self.scripts[i].entry() for i in queue.waiting],
            "finished_scripts": [self.scripts[i].entry() for i in queue.finished],
        }

    async def _publish_scripts(self, queue: FakeQueue) -> None:
        queue.changed.set()
        await self._publish(
            "ScriptQueueState", queue.index, "scriptsStream", self._scripts_stream(queue)
        )

    async def _publish_state(self, queue: FakeQueue) -> None:
        state = {"enabled": queue.enabled, "running": queue.running}
        await self._publish("ScriptQueueState", queue.index, "stateStream", state)

    async def _publish(self, csc: str, salindex: int, stream: str, payload: Any) -> None:
        """The manager's ``subscription_data`` to every socket in the group."""
        if csc == "ScriptQueueState" and self.queues[salindex].exited:
            return  # the queue's process is gone: the producer has nothing more to send
        group = f"event-{csc}-{salindex}-{stream}"
        message = {
            "category": "event",
            "data": [{"csc": csc, "salindex": salindex, "data": {stream: payload}}],
            "subscription": group,
        }
        for sock in list(self._sockets):
            if group in sock.groups and not sock.ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await sock.ws.send_str(json.dumps(message))

    async def _initial_state(self, csc: str, salindex: str, stream: str) -> None:
        """The producer re-sends its last sample when someone subscribes to an event."""
        if csc == "ScriptQueueState" and int(salindex) in self.queues:
            queue = self.queues[int(salindex)]
            if stream == "scriptsStream":
                await self._publish_scripts(queue)
            elif stream == "stateStream":
                await self._publish_state(queue)
        elif csc == "Script" and stream == "logMessage":
            script = self.scripts.get(int(salindex))
            # Sent again only while the script is current (or waiting): the producer's rule.
            if script is not None and self.queues[script.queue].current == script.index:
                for sample in script.logs:
                    await self._publish("Script", script.index, "logMessage", [sample])

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        """``SubscriptionConsumer``: an unknown token is closed before accept (403)."""
        key = request.query_string.removeprefix("token=")
        self.ws_tokens.append(key)
        if self.ws_status is not None:
            return web.Response(status=self.ws_status, text=HTML_500, content_type="text/html")
        if key not in self.tokens:  # the manager checks existence only, not expiry
            return web.Response(status=403)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sock = _Socket(ws)
        self._sockets.append(sock)
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            self.ws_received.append(message)
            option = message.get("option")
            if option not in {"subscribe", "unsubscribe"}:
                continue
            parts = [message["category"], message["csc"], str(message["salindex"])]
            group = "-".join([*parts, message["stream"]])
            if option == "subscribe":
                sock.groups.add(group)
                await ws.send_json({"data": f"Successfully subscribed to {group}"})
                if message["category"] == "event":
                    await self._initial_state(parts[1], parts[2], message["stream"])
            else:
                sock.groups.discard(group)
                await ws.send_json({"data": f"Successfully unsubscribed to {group}"})
        with contextlib.suppress(ValueError):
            self._sockets.remove(sock)
        return ws
