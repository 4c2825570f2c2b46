"""The real :class:`Love`: :class:`LoveClient`, queueing scripts and following them to their end.

It puts together the manager's REST API (:mod:`integrations.love._rest`) and the websocket
watch of a queue (:mod:`integrations.love._watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus
from typing import Any

from pydantic import SecretStr

from integrations.base import Report
from integrations.errors import IntegrationError, IntegrationTimeout, NoAnswer
from integrations.love._interface import QueuedScript, QueueState, ScriptRun
from integrations.love._rest import SYSTEM, ManagerApi
from integrations.love._watch import QueueWatch

LOCATION_LAST = 2
"""ts_xml ``ScriptQueue.Location.LAST``: ``cmd_add`` puts the script at the end of the queue."""
LOG_LEVEL = 20
"""``logLevel`` of the added script: INFO, what the LOVE frontend sends by default."""
STOP_SCRIPTS_SIZE = 400
"""ts_xml ``ScriptQueue_command_stopScripts.salIndices`` Count: the array is always this long,
zero-padded (the LOVE frontend sends ``new Array(400).fill(0)``), ``length`` says how many
entries count."""


class LoveClient:
    """One site's LOVE manager: its REST API for commands, its websocket to follow scripts.

    The messages it relies on, with their sources, are in the package docstring.
    """

    system = SYSTEM

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
        self._api = ManagerApi(
            url=url,
            username=username,
            password=password,
            timeout=timeout,
            command_timeout=command_timeout,
            heartbeat=heartbeat,
            retry_delay=retry_delay,
        )
        self.host = self._api.host
        self._script_timeout = script_timeout
        self._retry_delay = retry_delay
        self._reconnects = reconnects
        self._mine: set[tuple[int, int]] = set()
        """(queue, script index) of scripts this client queued and has not seen end."""

    async def aclose(self) -> None:
        """Close the HTTP session (a new one is opened if the client is used again)."""
        await self._api.aclose()

    # --- the Love interface ---

    async def ping(self) -> None:
        """The manager answers and takes our credentials, and the user may command.

        ``validate-token`` is the cheapest authenticated read; logging in first (only when we
        hold no token) is what proves the password.
        """
        answer = await self._api.get("validate-token/no_config/")
        body = answer.json_object()
        if answer.status != HTTPStatus.OK:
            raise self._api.refused("GET validate-token", answer)
        if body is None:
            raise self._api.malformed("GET validate-token", answer)
        permissions = body.get("permissions")
        if isinstance(permissions, dict) and permissions.get("execute_commands") is False:
            raise self._api.error(
                f"user {self._api.username!r} may not command the observatory "
                "(permissions.execute_commands is false)",
                status=answer.status,
            )

    async def command(
        self, *, csc: str, index: int, command: str, params: dict[str, Any] | None = None
    ) -> str:
        """Send ``cmd_<command>`` through the commander; the final ack's result text."""
        name = command if command.startswith("cmd_") else f"cmd_{command}"
        return await self._api.command(csc, index, name, params or {})

    async def queue_state(self, queue: int) -> QueueState:
        """Subscribe to the queue's streams and read the samples the producer re-sends.

        A queue whose producer sends nothing within the timeout is reported as unknown
        (``running`` None) rather than guessed.
        """
        watch = QueueWatch(queue, self._api)
        try:
            await watch.connect()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._api.timeout):
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
        listed = tuple(
            QueuedScript(
                index=index,
                path=str(entry.get("path", "script")),
                description=str(entry.get("description", "")),
                state=watch.final(index) or watch.state(index),
                place=watch.where.get(index, "finished"),
            )
            for index, entry in sorted(watch.scripts.items())
        )
        return QueueState(queue=queue, running=watch.running, current=current, scripts=listed)

    async def resume(self, queue: int) -> None:
        """``cmd_resume`` (no parameters, ts_xml ``ScriptQueue_command_resume``)."""
        await self._api.command("ScriptQueue", queue, "cmd_resume", {})

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
        watch = QueueWatch(queue, self._api)
        try:
            await watch.connect()
            index = await self._add(
                queue, path, standard=standard, config=config, descr=description
            )
            return await self._to_the_end(watch, index, path, report)
        finally:
            await watch.close()

    async def follow(self, *, queue: int, index: int, path: str, report: Report) -> ScriptRun:
        """Follow a script already in the queue (a copy an unanswered ``cmd_add`` queued)."""
        watch = QueueWatch(queue, self._api)
        try:
            await watch.connect()
            return await self._to_the_end(watch, index, path, report)
        finally:
            await watch.close()

    async def _to_the_end(
        self, watch: QueueWatch, index: int, path: str, report: Report
    ) -> ScriptRun:
        """Follow script ``index`` until it ends; its run, or the script's own error."""
        queue = watch.queue
        self._mine.add((queue, index))
        watch.logs_of(index)
        # Not waited for: the run goes on without the script's log if this one is late.
        await watch.subscribe(watch.log_subscription(index), send_only=True)
        final = await self._follow(watch, index, path, report)
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
        raise self._api.error(
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
                await self._api.command("ScriptQueue", queue, "cmd_stopScripts", params)
            except IntegrationError as e:
                problems.append(e)
                continue
            self._mine.difference_update((queue, index) for index in chunk)
        if problems:
            raise problems[0]

    # --- commands ---

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
            ack = await self._api.command("ScriptQueue", queue, "cmd_add", params)
        except NoAnswer as e:  # sent: the queue acks once the script's process started
            raise NoAnswer(
                e.system,
                f"{e.message}; {path} may have been queued on ScriptQueue {queue}",
                host=e.host,
                status=e.status,
                detail=e.detail,
            ) from None
        try:
            return int(ack)
        except ValueError:
            raise self._api.error(
                f"cmd_add to ScriptQueue:{queue} was acknowledged without a script index "
                f"(ack {ack!r}); {path} may be queued: look at ScriptQueue {queue} in LOVE",
                status=int(HTTPStatus.OK),
            ) from None

    # --- following a script ---

    async def _follow(self, watch: QueueWatch, index: int, path: str, report: Report) -> str:
        """Report each change of the script's state; its final state once it ended."""
        last = ""
        reconnects = 0
        try:
            async with asyncio.timeout(self._script_timeout):
                while True:
                    watch.changed.clear()
                    final = watch.final(index)
                    if final is None and index in watch.lost_track:
                        raise self._api.error(
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
                            raise self._api.error(
                                f"lost LOVE's websocket {reconnects - 1} times while following "
                                f"{path} (script {index}, last {watch.state(index)}); it may "
                                f"still run: look at ScriptQueue {watch.queue} in LOVE"
                            )
                        await asyncio.sleep(self._retry_delay)
                        with contextlib.suppress(IntegrationError):  # counted: tried again
                            await watch.connect()
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


def _no_message(final: str) -> str:
    if final == "STOPPED":
        return "stopped (cmd_stopScripts)"
    return "no error message from the script reached LOVE (see its log in LOVE or the EFD)"
