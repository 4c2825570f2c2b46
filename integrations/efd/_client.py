"""The real :class:`Efd`: :class:`EfdClient`, one InfluxDB query per poll, remembering the rest.

How it queries and what it trades off are in the package docstring (:mod:`integrations.efd`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.efd._answer import (
    Instance,
    RefusedError,
    Series,
    error_text,
    last_values,
    latest,
    parse_answer,
)
from integrations.efd._interface import (
    HEARTBEAT_SILENCE,
    CscState,
    OfflineDetailedState,
    SiteStates,
    SummaryState,
)
from integrations.errors import IntegrationError, IntegrationTimeout

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""A SAL component name (``ATDome``, ``MTM1M3TS``): also what makes it safe inside a regex."""

_RETRY_STATUS = frozenset({502, 503, 504})
"""Answers of a proxy or a restarting server: a GET is safe to send once more."""


def _ms(seconds: float) -> str:
    """An InfluxQL duration literal in whole milliseconds (``now() - 60000ms``)."""
    return f"{max(1, round(seconds * 1000))}ms"


def _identifier(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SUMMARY_STATES = {state.value: state for state in SummaryState}
"""The state each value names; a value this version of ts_xml does not know is absent."""


class EfdClient:
    """The EFD of one site over InfluxDB's HTTP API: read-only, one round trip per poll.

    The client remembers what earlier polls taught it (each instance's newest heartbeat and
    summary state, with their times), so a poll reads only what is new: keep one client for
    as long as the bot watches the site.
    """

    system = "EFD"

    def __init__(
        self,
        *,
        url: str,
        database: str = "efd",
        retention_policy: str = "autogen",
        username: str | None = None,
        password: SecretStr | None = None,
        cscs: Sequence[str] | None = None,
        timeout: float = 10.0,
        retries: int = 1,
        retry_delay: float = 0.5,
        heartbeat_window: float = 60.0,
        lookback: timedelta = timedelta(days=60),
        state_margin: float = 600.0,
        late_margin: float = 2.0,
        fresh_within: float = 5.0,
    ) -> None:
        """Say where the EFD is; nothing is sent before the first call.

        ``url``: the InfluxDB HTTP API, ``https://<fqdn>/influxdb`` in production (no
        credentials in it). ``username``/``password``: HTTP basic auth (a read-only EFD user),
        or none for a server without auth. ``cscs``: the CSC names to watch (default: every
        ``lsst.sal.*`` CSC in the EFD). ``timeout``: seconds for each HTTP request, whole.
        ``retries``: further attempts after a failed connection or a 502/503/504, never after
        a timeout (the next poll comes anyway). ``heartbeat_window``, ``lookback``,
        ``state_margin``, ``late_margin``: what each poll reads (package docstring).
        ``fresh_within``: how
        recent the newest heartbeat must be for the EFD to count as receiving data; under
        :data:`HEARTBEAT_SILENCE`, so that a beating CSC never looks silent while fresh.
        """
        base = URL(url)
        if base.scheme not in {"http", "https"} or not base.host:
            raise ValueError(f"EFD url must be http(s)://host[/path], got {url!r}")
        if base.user is not None or base.password is not None:
            raise ValueError("put the EFD credentials in username/password, not in the url")
        if password is not None and not username:
            raise ValueError("an EFD password needs a username")
        if cscs is not None and (not cscs or not all(_NAME.fullmatch(name) for name in cscs)):
            raise ValueError(f"cscs must be SAL component names, got {list(cscs)}")
        if timeout <= 0 or retry_delay < 0 or state_margin < 0 or late_margin < 0:
            raise ValueError("timeout must be positive, retry_delay and the margins not negative")
        if not 0 < fresh_within < HEARTBEAT_SILENCE:
            raise ValueError(f"fresh_within must be between 0 and {HEARTBEAT_SILENCE}s")
        if not HEARTBEAT_SILENCE <= heartbeat_window <= lookback.total_seconds():
            raise ValueError(f"heartbeat_window must be between {HEARTBEAT_SILENCE}s and lookback")
        self._base = base.with_query(None).with_fragment(None)
        self._host = base.host if base.explicit_port is None else f"{base.host}:{base.port}"
        self._db = database
        self._username = username
        self._password = password
        self._cscs = tuple(sorted(set(cscs))) if cscs is not None else None
        self._timeout = timeout
        self._retries = max(0, retries)
        self._retry_delay = retry_delay
        self._heartbeat_window = heartbeat_window
        self._lookback = lookback.total_seconds()
        self._state_margin = state_margin
        self._late_margin = late_margin
        self._fresh_within = fresh_within
        self._source = f"{_identifier(database)}.{_identifier(retention_policy)}"
        self._session: aiohttp.ClientSession | None = None
        self._beats: dict[Instance, float] = {}
        """Each instance's newest heartbeat seen so far (epoch seconds)."""
        self._states: dict[Instance, tuple[float, int]] = {}
        """Each instance's newest summaryState row seen so far: (epoch seconds, value)."""
        self._read_from: float | None = None
        """What the next poll reads from (epoch seconds, less the margins): None before the
        first poll; then how far the EFD had caught up at the previous one (:meth:`_caught_up`)."""

    def _from(self, topic: str, cscs: Sequence[str] | None = None) -> str:
        r"""``"efd"."autogen"./^lsst\.sal\.(A|B)\.logevent_x$/``: every watched CSC's topic.

        ``cscs``: these CSCs' topics (default: the watched CSCs').
        """
        cscs = self._cscs if cscs is None else cscs
        names = "[A-Za-z0-9_]+" if cscs is None else "(" + "|".join(cscs) + ")"
        return f"{self._source}./^lsst\\.sal\\.{names}\\.logevent_{topic}$/"

    def statements(self, now: float | None = None) -> list[str]:
        """The InfluxQL of the next poll (public so the benchmark and the tests can show it).

        The first poll of a client reads ``lookback`` (the heartbeats' ``last()`` and the
        summary states) and ``heartbeat_window`` (every heartbeat); a later poll reads only
        the heartbeats since the EFD had caught up at the previous poll, less ``late_margin``,
        and the states since then less ``state_margin``: what it knew before it keeps. Every
        heartbeat since then includes each CSC's newest, so a later poll needs no ``last()``.
        """
        now = time.time() if now is None else now
        window, since = self._heartbeat_window, self._lookback
        if self._read_from is not None:
            window = min(window, now - self._read_from + self._late_margin)
            since = min(since, now - self._read_from + self._state_margin)
        beat, state = self._from("heartbeat"), self._from("summaryState")
        # Safe to build as text: the CSC names were checked in __init__, the rest are numbers.
        statements = [
            f"SELECT private_origin, salIndex FROM {beat} WHERE time > now() - {_ms(window)}",  # noqa: S608
            f"SELECT summaryState, salIndex FROM {state} WHERE time > now() - {_ms(since)}",  # noqa: S608
        ]
        if self._read_from is None:
            last = _ms(self._lookback)
            newest = (
                f"SELECT last(private_origin), salIndex FROM {beat} WHERE time > now() - {last}"  # noqa: S608
            )
            statements.insert(0, newest)
        return statements

    def _url(self, endpoint: str) -> URL:
        """``<url>/<endpoint>``, keeping the url's path (``/influxdb`` behind the ingress)."""
        return self._base.with_path(self._base.path.rstrip("/") + "/" + endpoint)

    def _headers(self) -> dict[str, str]:
        """No compression; HTTP basic auth, encoded per request (no attribute holds it in clear).

        Uncompressed, because a chunked answer comes a chunk per series (a poll: ~300 of a few
        hundred bytes), which InfluxDB compresses and flushes one by one, and the EFD answers
        within the site's network: 0.3-0.4 ms less per steady poll on the benchmark's machine.
        """
        headers = {"Accept-Encoding": "identity"}
        if self._username:
            secret = self._password.get_secret_value() if self._password is not None else ""
            token = base64.b64encode(f"{self._username}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    async def _get(self, endpoint: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        """One GET, sent again where that is safe; its status and body, or IntegrationError."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._session.get(
                    self._url(endpoint),
                    params=params,
                    headers=self._headers(),
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                ) as response:
                    status, body = response.status, await response.read()
            except TimeoutError as e:  # aiohttp's own timeouts are TimeoutErrors too
                raise IntegrationTimeout(
                    "EFD", f"no answer within {self._timeout:g}s", host=self._host
                ) from e
            except aiohttp.ClientError as e:
                if attempt <= self._retries:
                    await asyncio.sleep(self._retry_delay)
                    continue
                raise IntegrationError(
                    "EFD",
                    f"cannot reach InfluxDB ({type(e).__name__})",
                    host=self._host,
                    detail=str(e),
                ) from e
            if status in _RETRY_STATUS and attempt <= self._retries:
                await asyncio.sleep(self._retry_delay)
                continue
            return status, body

    def _check(self, status: int, body: bytes, *expected: int) -> None:
        """Raise the IntegrationError an unexpected status deserves."""
        if status in expected:
            return
        if status in {401, 403}:
            message = "refused our credentials (check the EFD username and password)"
        elif status >= 500:  # noqa: PLR2004
            message = "InfluxDB failed"
        else:
            message = "InfluxDB refused the request"
        raise IntegrationError(
            "EFD", message, host=self._host, status=status, detail=error_text(body) or None
        )

    async def ping(self) -> None:
        """``GET /ping`` (204: InfluxDB is up), then one tiny query of the database.

        ``/ping`` checks no credentials and knows no database: alone it would pass a check
        whose first real read then fails with 401, or "database not found".
        """
        status, body = await self._get("ping")
        self._check(status, body, 204, 200)  # 200: /ping?verbose, and some proxies
        named = self._db.replace("\\", "\\\\").replace('"', '\\"')
        show = f'SHOW RETENTION POLICIES ON "{named}"'  # a read of the database: "not found" if so
        status, body = await self._get("query", {"db": self._db, "q": show})
        self._check(status, body, 200)
        try:
            results = json.loads(body).get("results", [])
        except (ValueError, AttributeError) as e:
            raise IntegrationError(
                "EFD", "not an InfluxDB answer", host=self._host, detail=body[:200].decode()
            ) from e
        refused = next((r["error"] for r in results if isinstance(r, dict) and "error" in r), None)
        if refused is not None:
            raise IntegrationError("EFD", f"database {self._db!r}: {refused}", host=self._host)

    async def cancel(self) -> None:
        """Nothing to stop: this client only reads, and an unfinished read changes nothing."""

    async def aclose(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def states(self) -> SiteStates:
        """Every CSC instance's last summary state and heartbeat age: one round trip."""
        started = time.time()
        *heard, events = await self._query(self.statements(started))
        beats, states = latest([series for found in heard for series in found], events)
        self._read_from = self._caught_up(started, beats)
        for instance, when in beats.items():
            if when > self._beats.get(instance, -math.inf):
                self._beats[instance] = when
        for instance, (when, value) in states.items():
            if when >= self._states.get(instance, (-math.inf, 0))[0]:
                self._states[instance] = (when, value)
        now = time.time()
        newest = max(beats.values(), default=None)
        return SiteStates.read(
            at=datetime.fromtimestamp(now, UTC),
            fresh=newest is not None and now - newest <= self._fresh_within,
            components=self._reading(now),
        )

    def _caught_up(self, started: float, beats: dict[Instance, float]) -> float:
        """Up to when the EFD had every live instance's beats at this poll (epoch seconds).

        A point's time is its message's, and each topic reaches InfluxDB after its own
        Telegraf connector's lag, so "since the previous poll began" would miss the beats of
        a connector a few seconds behind. The live instances (a beat newer than known, within
        :data:`HEARTBEAT_SILENCE` of the poll) say how far each one's topic has arrived: the
        oldest of their newest beats is where the next poll reads from. An instance that has
        stopped beating brings nothing new and does not hold the next poll back. With no live
        instance (a poll sooner than the next beats landed, every CSC down mid-upgrade, the EFD
        behind by more than the silence), nothing says the EFD came further: the next poll
        reads from where this one did, at most ``heartbeat_window`` back (cheap when nothing
        beats), so a CSC starting up is seen whatever the EFD's lag.
        """
        live = [
            when
            for instance, when in beats.items()
            if when > self._beats.get(instance, -math.inf) and when >= started - HEARTBEAT_SILENCE
        ]
        if live:
            return min(started, *live)
        oldest = started - self._heartbeat_window
        return oldest if self._read_from is None else max(self._read_from, oldest)

    async def offline_detailed(self, cscs: Sequence[str]) -> dict[str, OfflineDetailedState]:
        r"""Each camera CSC's last ``offlineDetailedState``: one HTTP request, one statement.

        ``SELECT last(substate) FROM ./^lsst\.sal\.(ATCamera|MTCamera)\.
        logevent_offlineDetailedState$/``: the newest row of each camera's topic, however old
        (the substate is published when it changes).
        """
        names = sorted(set(cscs))
        if not names:
            return {}
        if not all(_NAME.fullmatch(name) for name in names):
            raise IntegrationError("EFD", f"not SAL component names: {names}", host=self._host)
        source = self._from("offlineDetailedState", names)
        lookback = _ms(self._lookback)
        [found] = await self._query(
            [f"SELECT last(substate) FROM {source} WHERE time > now() - {lookback}"]  # noqa: S608
        )
        details: dict[str, OfflineDetailedState] = {}
        for csc, value in last_values(found, "last").items():
            try:
                details[csc] = OfflineDetailedState(value)
            except ValueError:
                continue  # a substate this version of ts_xml does not know
        return details

    async def _query(self, statements: list[str]) -> list[list[Series]]:
        """Each statement's series, or the IntegrationError it earned: one GET each, all at once.

        InfluxDB 1.x runs the statements of one request one after another (influxdata/influxdb
        ``query/executor.go``, ``executeQuery``: ``for ; i < len(query.Statements); i++``), and
        separate requests side by side, so a poll takes as long as its slowest statement
        rather than the sum of them (the beats and the states on a fresh copy of the
        benchmark's site: 7 ms instead of 10 ms). Sasquatch's InfluxDB sets no limit on
        concurrent queries (phalanx ``applications/sasquatch``, ``coordinator.
        max-concurrent-queries: 0``). The first to fail cancels the others and is raised.
        """
        try:
            async with asyncio.TaskGroup() as group:
                asked = [group.create_task(self._statement(one)) for one in statements]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in asked]

    async def _statement(self, statement: str) -> list[Series]:
        """One statement in one GET: its series, or the IntegrationError it earned."""
        status, body = await self._get(
            "query", {"db": self._db, "epoch": "ms", "chunked": "true", "q": statement}
        )
        self._check(status, body, 200)
        try:
            found = parse_answer(body)
        except RefusedError as e:
            raise IntegrationError(
                "EFD",
                f"InfluxDB refused the query (is there a database {self._source}"
                " this user may read?)",
                host=self._host,
                status=status,
                detail=str(e),
            ) from e
        except (ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
            raise IntegrationError(
                "EFD",
                f"malformed answer from InfluxDB: {e}",
                host=self._host,
                status=status,
                detail=body.decode(errors="replace"),
            ) from e
        return found

    def _reading(self, now: float) -> list[CscState]:
        """What the client knows of every component instance, at ``now``."""
        reading = []
        for name, index in sorted(self._beats.keys() | self._states.keys()):
            known, beat = self._states.get((name, index)), self._beats.get((name, index))
            state = None if known is None else _SUMMARY_STATES.get(known[1])
            age = None if beat is None else max(0.0, now - beat)
            reading.append(CscState(name, index, state, age))
        return reading
