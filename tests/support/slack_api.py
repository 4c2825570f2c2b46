"""A fake of the Slack Web API on 127.0.0.1 that records every call and answers like Slack.

It serves ``/api/<method>`` (POST, and GET with a query) the way slack.com does: a bearer
token is required (``not_authed`` / ``invalid_auth`` otherwise), parameters come as a form
or as JSON (the SDK sends both), and answers are ``{"ok": true, ...}`` with the fields the
SDK reads (``ts``, ``channel``, ``user_id``); ``channel_not_found`` for a channel it does
not know (or a private one the bot is not in), ``is_archived`` for an archived one.
``conversations.list`` answers as Slack's does
(https://api.slack.com/methods/conversations.list): the channels of the ``types`` asked (a
bot sees the private channels it is a member of), ``limit`` per page, and the next page's
``cursor`` in ``response_metadata.next_cursor`` (empty on the last page).

Faults for tests: a method's next calls can get HTTP 429 with ``Retry-After``, a given
error, or a dropped connection (the socket closed without an answer, as a proxy or a network
partition does). It also takes the posts to ``response_url`` (``/response/<id>``), which
Slack would show to the user.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.rehearsal import MARK, MARKED

TOKEN = "xoxb-test-token"  # noqa: S105  # a test value, not a secret
APP_TOKEN = "xapp-test-token"  # noqa: S105  # the app-level token, for Socket Mode


@asynccontextmanager
async def served(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    """The fake served on 127.0.0.1, and a Web API client pointed at it."""
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{server.port}/api/")
    finally:
        await server.close()


@dataclass
class Call:
    """One call the bot made."""

    method: str
    params: dict[str, Any]
    answer: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    """When the fake answered (``time.perf_counter``): what a benchmark times a click to."""


@dataclass
class Conversation:
    """A channel as Slack keeps it."""

    id: str
    name: str
    private: bool = False
    member: bool = True
    archived: bool = False
    im: bool = False
    previous_names: list[str] = field(default_factory=list)

    def listed(self) -> dict[str, Any]:
        """The channel object of ``conversations.list`` (the fields a bot reads)."""
        return {
            "id": self.id, "name": self.name, "name_normalized": self.name,
            "is_channel": not self.private, "is_group": self.private, "is_im": False,
            "is_mpim": False, "is_private": self.private, "is_archived": self.archived,
            "is_general": False, "is_member": self.member, "is_shared": False,
            "is_org_shared": False, "is_ext_shared": False, "created": 1700000000,
            "creator": "U0ADMIN", "previous_names": list(self.previous_names),
            "num_members": 12,
        }  # fmt: skip


@dataclass
class FakeSlack:
    """The fake's state: the workspace's channels, the calls made, the faults to inject."""

    channels: dict[str, str] = field(default_factory=dict)
    """Public channels the bot is in, to start with: name (without #) -> id."""
    conversations: dict[str, Conversation] = field(default_factory=dict)
    """Every conversation by id (the public ``channels``, and those added)."""
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    """What was posted to response URLs (ephemeral answers, public replies)."""
    limit_next: dict[str, int] = field(default_factory=dict)
    """Method -> how many of its next calls get HTTP 429 (Retry-After: 1)."""
    drop_next: dict[str, int] = field(default_factory=dict)
    """Method -> how many of its next calls get their connection dropped, unanswered."""
    fail_next: dict[str, list[str]] = field(default_factory=dict)
    """Method -> the errors its next calls answer (``expired_trigger_id``...), in order."""
    dropped: list[str] = field(default_factory=list)
    """The methods whose call was dropped, in order."""
    acks: list[dict[str, Any]] = field(default_factory=list)
    """What the bot sent back over the Socket Mode websocket (acks of envelopes)."""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    rehearsal: bool = False
    """The bot rehearses: each message it posts or edits must carry the REHEARSAL marker. It is
    recorded without it (tests read messages as the bot built them); one lacking it is kept in
    :attr:`unmarked`."""
    unmarked: list[dict[str, Any]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        """The starting channels as conversations."""
        for name, channel in self.channels.items():
            self.conversations.setdefault(channel, Conversation(channel, name))

    def add_channel(
        self, name: str, channel: str, *, private: bool = False, member: bool = True
    ) -> None:
        """A channel created in the workspace (``member``: the bot was invited)."""
        self.conversations[channel] = Conversation(channel, name, private, member)

    def rename_for_test(self, channel: str, name: str) -> None:
        """Someone renamed the channel: its id stays, its old name no longer finds it."""
        conversation = self.conversations[channel]
        conversation.previous_names.append(conversation.name)
        conversation.name = name

    def app(self) -> web.Application:
        """The aiohttp application to serve."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # the SDK reads lists with GET
        app.router.add_post("/response/{id}", self._response)
        app.router.add_get("/link", self._socket)
        return app

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send an envelope (a slash command, an interaction) to the connected bot."""
        await self.sockets[-1].send_json(envelope)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """The Socket Mode websocket: hello, then envelopes down and acks up."""
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.sockets.append(ws)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": "A0UPGRADE"},
            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
        }
        await ws.send_json(hello)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    def of(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of ``method``, in order."""
        return [c.params for c in self.calls_of(method)]

    def calls_of(self, method: str) -> list[Call]:
        """Every call of ``method`` (its parameters and answer), in order."""
        return [c for c in self.calls if c.method == method]

    def channel_id(self, name_or_id: str) -> str | None:
        """The id of a channel given by ``#name``, ``name`` or id (as it is named now)."""
        if name_or_id in self.conversations:
            return name_or_id
        name = name_or_id.lstrip("#")
        return next((c.id for c in self.conversations.values() if c.name == name), None)

    def updated_unchanged(self) -> list[dict[str, Any]]:
        """The ``chat.update`` calls that changed nothing (the message showed that already)."""
        shown: dict[str, Any] = {}
        same = []
        for call in self.calls:
            if call.method in {"chat.postMessage", "chat.update"} and call.answer.get("ok"):
                content = [call.params.get("text", ""), call.params.get("blocks", [])]
                if call.method == "chat.update" and shown.get(call.answer["ts"]) == content:
                    same.append(call.params)
                shown[call.answer["ts"]] = content
        return same

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """The call's arguments: a JSON or form body, and the query string.

        Some SDK methods (``conversations.open``) send theirs in the query; Slack reads both.
        """
        if request.content_type == "application/json":
            params: dict[str, Any] = {**request.query, **await request.json()}
            return params
        form = {**request.query, **await request.post()}
        out: dict[str, Any] = {}
        for key, value in form.items():
            text = str(value)
            try:  # the SDK sends lists and dicts (blocks, view) JSON-encoded in forms
                out[key] = json.loads(text) if text[:1] in "[{" else text
            except ValueError:
                out[key] = text
        return out

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        if method == "apps.connections.open":  # the app-level token, not the bot token
            if auth != f"Bearer {APP_TOKEN}":
                return web.json_response({"ok": False, "error": "invalid_auth"})
            self.calls.append(Call(method, {}, {"ok": True}))
            return web.json_response({"ok": True, "url": f"ws://{request.host}/link"})
        if auth != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        params = await self._params(request)
        if self.rehearsal and method in MARKED:
            params = self._unmark(params)
        faulty = self._fault(method, params, request)
        if faulty is not None:
            return faulty
        answer = self._answer(method, params)
        self.calls.append(Call(method, params, answer))
        return web.json_response(answer)

    def _unmark(self, params: dict[str, Any]) -> dict[str, Any]:
        """The message without its REHEARSAL marker (kept in :attr:`unmarked` if it has none)."""
        text, blocks = str(params.get("text", "")), params.get("blocks")
        marked_text = text == MARK or text.startswith(f"{MARK} · ")
        first = blocks[0] if blocks else {}
        marked_blocks = not blocks or (
            first.get("type") == "context" and MARK in first["elements"][0]["text"]
        )
        if not (marked_text and marked_blocks):
            self.unmarked.append(params)
            return params
        out = {**params, "text": text.removeprefix(MARK).removeprefix(" · ")}
        if blocks:
            out["blocks"] = blocks[1:]
        return out

    def _fault(
        self, method: str, params: dict[str, Any], request: web.Request
    ) -> web.Response | None:
        """The fault injected for this call, if any: dropped, rate-limited, or an error."""
        if self.drop_next.get(method, 0) > 0:
            self.drop_next[method] -= 1
            self.dropped.append(method)
            assert request.transport is not None
            request.transport.abort()  # the client sees the server disconnect, unanswered
            raise web.HTTPServiceUnavailable  # never written: the socket is gone
        if self.limit_next.get(method, 0) > 0:
            self.limit_next[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if self.fail_next.get(method):
            answer = {"ok": False, "error": self.fail_next[method].pop(0)}
            self.calls.append(Call(method, params, answer))
            return web.json_response(answer)
        return None

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911  # a case per method
        if method == "auth.test":
            return {"ok": True, "url": "https://rubin-obs.slack.com/", "team": "Rubin",
                    "user": "upgrade-bot", "team_id": "T0RUBIN", "user_id": "U0BOT",
                    "bot_id": "B0BOT", "is_enterprise_install": False}  # fmt: skip
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
            channel = self.channel_id(str(params.get("channel", "")))
            found = self.conversations.get(channel or "")
            if found is None or (found.private and not found.member):
                return {"ok": False, "error": "channel_not_found"}
            if found.archived:
                return {"ok": False, "error": "is_archived"}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": f"1764000000.{next(self._ts):06d}"}
            ts = params.get("ts") or f"1764000000.{next(self._ts):06d}"
            message = {"type": "message", "text": params.get("text", ""), "ts": ts,
                       "blocks": params.get("blocks", [])}  # fmt: skip
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.open":
            return self._open_im(str(params.get("users", "")))
        if method == "conversations.list":
            return self._list(params)
        if method in {"views.open", "views.publish"}:
            return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **params.get("view", {})}}
        return {"ok": False, "error": "unknown_method"}

    def _open_im(self, users: str) -> dict[str, Any]:
        """conversations.open for one user: the IM channel with them (the same one each time)."""
        if not users.startswith("U") or "," in users:
            return {"ok": False, "error": "user_not_found"}
        im = f"D{users[1:]}"
        self.conversations.setdefault(im, Conversation(im, f"im-{users}", im=True))
        return {"ok": True, "channel": {"id": im}}

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.list: one page of the channels of the types asked that a bot sees."""
        types = set(str(params.get("types") or "public_channel").split(","))
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            return {"ok": False, "error": "invalid_types"}
        limit = int(params.get("limit") or 100)
        if not 0 < limit <= 1000:  # Slack's bounds
            return {"ok": False, "error": "invalid_limit"}
        try:
            start = int(base64.b64decode(str(params.get("cursor") or "b2Zmc2V0OjA=")).decode()[7:])
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        archived = str(params.get("exclude_archived", "false")).lower() not in {"true", "1"}
        seen = [
            c for c in self.conversations.values()
            if not c.im and (archived or not c.archived)
            and ("private_channel" if c.private else "public_channel") in types
            and (c.member or not c.private)
        ]  # fmt: skip
        page = seen[start : start + limit]
        more = start + limit < len(seen)
        cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "channels": [c.listed() for c in page],
                "response_metadata": {"next_cursor": cursor}}  # fmt: skip

    async def _response(self, request: web.Request) -> web.Response:
        """An answer by ``response_url``: in a rehearsal it is marked too (kept unmarked)."""
        params = await request.json()
        self.responses.append(self._unmark(params) if self.rehearsal else params)
        return web.Response(text="ok")
