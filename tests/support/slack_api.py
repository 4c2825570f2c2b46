"""A fake of the Slack Web API on 127.0.0.1 that records every call and answers like Slack.

It serves ``POST /api/<method>`` the way slack.com does: a bearer token is required
(``not_authed`` / ``invalid_auth`` otherwise), parameters come as a form or as JSON (the SDK
sends both), and answers are ``{"ok": true, ...}`` with the fields the SDK reads (``ts``,
``channel``, ``user_id``), ``channel_not_found`` for a channel it does not know, and HTTP 429
with ``Retry-After`` when told to rate-limit a method. It also takes the posts to
``response_url`` (``/response/<id>``), which Slack would show to the user.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "xoxb-test-token"  # noqa: S105  # a test value, not a secret
APP_TOKEN = "xapp-test-token"  # noqa: S105  # the app-level token, for Socket Mode


@dataclass
class Call:
    """One call the bot made."""

    method: str
    params: dict[str, Any]
    answer: dict[str, Any]


@dataclass
class FakeSlack:
    """The fake's state: channels by name, the calls made, the limits to enforce."""

    channels: dict[str, str] = field(default_factory=dict)
    """Channel name (without #) -> id."""
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    """What was posted to response URLs (ephemeral answers, public replies)."""
    limit_next: dict[str, int] = field(default_factory=dict)
    """Method -> how many of its next calls get HTTP 429 (Retry-After: 1)."""
    acks: list[dict[str, Any]] = field(default_factory=list)
    """What the bot sent back over the Socket Mode websocket (acks of envelopes)."""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        """The aiohttp application to serve."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
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
        return [c.params for c in self.calls if c.method == method]

    def channel_id(self, name_or_id: str) -> str | None:
        """The id of a channel given by ``#name``, ``name`` or id."""
        name = name_or_id.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        return name if name in self.channels.values() else None

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
        if self.limit_next.get(method, 0) > 0:
            self.limit_next[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        answer = self._answer(method, params)
        self.calls.append(Call(method, params, answer))
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911  # a case per method
        if method == "auth.test":
            return {"ok": True, "url": "https://rubin-obs.slack.com/", "team": "Rubin",
                    "user": "upgrade-bot", "team_id": "T0RUBIN", "user_id": "U0BOT",
                    "bot_id": "B0BOT", "is_enterprise_install": False}  # fmt: skip
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
            channel = self.channel_id(str(params.get("channel", "")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": f"1764000000.{next(self._ts):06d}"}
            ts = params.get("ts") or f"1764000000.{next(self._ts):06d}"
            message = {"type": "message", "text": params.get("text", ""), "ts": ts,
                       "blocks": params.get("blocks", [])}  # fmt: skip
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.open":
            return self._open_im(str(params.get("users", "")))
        if method in {"views.open", "views.publish"}:
            return {"ok": True, "view": {"id": f"V{next(self._ts):08d}", **params.get("view", {})}}
        return {"ok": False, "error": "unknown_method"}

    def _open_im(self, users: str) -> dict[str, Any]:
        """conversations.open for one user: the IM channel with them (the same one each time)."""
        if not users.startswith("U") or "," in users:
            return {"ok": False, "error": "user_not_found"}
        im = self.channels.setdefault(f"im-{users}", f"D{users[1:]}")
        return {"ok": True, "channel": {"id": im}}

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")
