"""Following a ScriptQueue and its scripts on LOVE's websocket.

A :class:`QueueWatch` opens the subscription websocket (through :class:`ManagerApi`, which holds
the token), subscribes to the queue's streams and the followed scripts' log messages, waits for
the manager's confirmations, and keeps what the frames say: where each script is listed, its
state, the queue's running flag, the scripts' error messages. The streams and how a script's
end is read from them are in the package docstring (:mod:`integrations.love`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

from integrations.errors import IntegrationTimeout
from integrations.love._rest import ManagerApi

ERROR_LEVEL = 40
"""Python's logging.ERROR: a Script ``logMessage`` at or above it explains a failure."""
_ENDED_PROCESS = frozenset({"LOADFAILED", "CONFIGURE_FAILED", "TERMINATED"})
"""ScriptProcessState names of a script that ended without running to its own end."""
_SUBSCRIBED = "Successfully subscribed to "
"""How the manager confirms a subscription (``subscription/consumers.py``)."""


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


class QueueWatch:
    """What the websocket told us about one ScriptQueue and the scripts we follow on it."""

    def __init__(self, queue: int, api: ManagerApi) -> None:
        self.queue = queue
        self._api = api
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

    async def connect(self) -> None:
        """Open a websocket and make (again) all the subscriptions."""
        await self.close()
        self.attach(await self._api.websocket())
        for subscription in self.subscriptions:
            await self.subscribe(subscription, send_only=True)
        await self._confirmed([_group(s) for s in self.subscriptions])

    async def subscribe(self, subscription: dict[str, Any], *, send_only: bool = False) -> None:
        """Send ``subscription`` and keep it, so that a reconnection makes it again.

        Confirmed unless ``send_only``; a websocket that fails here is marked closed, not raised.
        """
        if subscription not in self.subscriptions:
            self.subscriptions.append(subscription)
        try:
            await self.send(subscription)
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            self.closed = True  # the follow loop reconnects and subscribes again
            return
        if not send_only:
            await self._confirmed([_group(subscription)])

    async def _confirmed(self, groups: list[str]) -> None:
        """Wait for the manager's confirmation of each subscription."""
        api = self._api
        try:
            async with asyncio.timeout(api.timeout):
                while not self.closed and not set(groups) <= self.confirmed:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            missing = sorted(set(groups) - self.confirmed)
            raise IntegrationTimeout(
                api.system,
                f"websocket subscription to {', '.join(missing)} not confirmed in {api.timeout:g}s",
                host=api.host,
            ) from None

    def log_subscription(self, index: int) -> dict[str, Any]:
        """The subscription to script ``index``'s ``logMessage``."""
        return _subscription("Script", index, "logMessage")

    def logs_of(self, index: int) -> None:
        """Keep the error messages of script ``index`` from now on."""
        self.errors.setdefault(index, [])

    def attach(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read ``ws`` in the background from now on (subscriptions are confirmed anew)."""
        self._ws = ws
        self.closed = False
        self.confirmed = set()
        self._reader = asyncio.create_task(self._read(ws))

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message on the websocket (ConnectionError if there is none open)."""
        if self._ws is None or self._ws.closed:
            raise ConnectionError("websocket closed")
        await self._ws.send_str(json.dumps(message))

    async def close(self) -> None:
        """Close the websocket and stop reading it."""
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
