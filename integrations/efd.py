r"""The EFD (InfluxDB 1.x): every CSC instance's last summary state and heartbeat, in one poll.

Measurements are Kafka topics (``lsst.sal.<CSC>.logevent_summaryState`` with the integer field
``summaryState``; ``lsst.sal.<CSC>.logevent_heartbeat``); the SAL index is the *field*
``salIndex``. A salobj CSC exits when it goes OFFLINE, so its last summary state may read
STANDBY forever: silence is what says OFFLINE, and only while the EFD itself is fresh.

The real client, :class:`EfdClient`, follows the InfluxDB 1.x HTTP API (``GET /query`` with
``db``, ``q``, ``epoch``, ``chunked``; ``GET /ping`` answering 204; HTTP basic auth:
docs.influxdata.com, "InfluxDB v1 API", /query and /ping), which production (InfluxDB 1.x OSS
and Enterprise in Sasquatch, lsst-sqre/phalanx ``applications/sasquatch``) and Debian's
``influxdb`` 1.6 (the tests) both speak. What the data looks like, from the sources:

- The Telegraf connectors that write the CSC topics into database ``efd`` set no tags and
  stamp each point with ``private_efdStamp`` (phalanx ``applications/sasquatch/
  values-summit.yaml``): one series per topic, so ``GROUP BY`` cannot split instances, and
  two instances' points with the same timestamp would overwrite each other.
- ``salIndex`` exists only for *indexed* components (lsst-ts/ts_xml
  ``python/lsst/ts/xml/topic_info.py``: ``if not indexed: del fields["salIndex"]``): ATDome's
  points have no ``salIndex`` at all (read here as index 0), ESS's carry 1, 101, 102...
  ``private_origin`` (the writer's process id) is in every topic.
- lsst-efd-client (``select_top_n``, ``build_time_range_query``) reads one instance with
  ``WHERE salIndex = N`` on a fully qualified ``"efd"."autogen"."<topic>"``: one query per
  instance, which is what this client avoids.

How one poll reads every instance in ONE request: three statements joined by ``;``, each
``FROM "<db>"."<rp>"./^lsst\.sal\.<CSC>\.logevent_<topic>$/``, so the server matches the
topics of every CSC itself (no ``SHOW MEASUREMENTS`` round trip, no list of topics to cache
and keep up to date; ``cscs`` narrows the regex to the named CSCs):

1. ``SELECT last(private_origin), salIndex ... heartbeat WHERE time > now() - lookback``:
   each CSC's newest heartbeat and the index that sent it. InfluxDB answers ``last()``
   without reading every point (9 ms for 150 topics holding a day of 1 Hz heartbeats, 13
   million points, in ``benchmarks/efd_poll.py``), so the age is exact for every non-indexed
   CSC however long its silence, and the newest of all says whether the EFD is *fresh*.
2. ``SELECT salIndex ... heartbeat WHERE time > now() - heartbeat_window``: every heartbeat
   of the last minute. Only indexed CSCs have ``salIndex``, so only their rows come back
   (60 per instance), reduced here to the newest per index.
3. ``SELECT summaryState, salIndex ... summaryState WHERE time > now() - since``: summary
   states are events (a few per CSC a day), so reading *every* row is cheap and the newest
   row per index is the answer. The first poll of a client reads ``lookback`` of them (60
   days: at least one monthly upgrade, after which every CSC published its state anew);
   later polls read only what came since the previous poll, plus ``state_margin`` for rows
   that reach the EFD late, and keep the rest from before (an instance's newest row wins).

Summit-sized (150 instances, 112 of them indexed; ``benchmarks/efd_poll.py``, InfluxDB 1.6 on
2 vCPUs): a later poll takes 25 ms (p50) for 140 kB, the first poll of a client 97 ms for
0.8 MB; one query per instance, as lsst-efd-client would do it, takes 150 requests and 460 ms.
The answer is asked for with ``chunked=true``: InfluxDB's ``max-row-limit`` only truncates
answers that are not chunked (and 1.6 marks a merged, complete series ``partial`` there).

The trade-off, stated plainly: a summary state older than ``lookback`` is not seen (the
instance reads "no state"); the heartbeat age of an indexed instance silent for longer than
``heartbeat_window`` is exact if this client saw it beat before, or if it was the last of its
CSC to beat, otherwise None ("not heard within what we read"). Both only touch CSCs that were
already down: the verdicts (alive within 10 s, fresh within 5 s) rest on exact data. Ages
compare this host's clock with the EFD's timestamps (both NTP-synchronised at the summit).
Freshness is site-wide: one Telegraf connector falling behind while the others keep up would
make its CSCs look silent, which the EFD's data cannot tell.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Protocol

import aiohttp
from pydantic import SecretStr
from yarl import URL

from integrations.base import Integration
from integrations.errors import IntegrationError, IntegrationTimeout

HEARTBEAT_SILENCE = 10.0
"""Seconds without a heartbeat after which a CSC counts as not running (it beats every 1 s)."""


class SummaryState(IntEnum):
    """ts_xml ``sal_enums.State``."""

    DISABLED = 1
    ENABLED = 2
    FAULT = 3
    OFFLINE = 4
    STANDBY = 5


@dataclass(frozen=True, slots=True)
class CscState:
    """What the EFD last saw of one CSC instance."""

    name: str
    index: int
    summary_state: SummaryState | None
    """The last published summary state (None if never seen)."""
    heartbeat_age: float | None
    """Seconds since its last heartbeat (None if never seen)."""

    @property
    def ref(self) -> str:
        """``Name:index``, as set_summary_state.py takes it."""
        return f"{self.name}:{self.index}"

    @property
    def alive(self) -> bool:
        """Beating: heard from within the silence limit."""
        return self.heartbeat_age is not None and self.heartbeat_age <= HEARTBEAT_SILENCE


@dataclass(frozen=True, slots=True)
class SiteStates:
    """One poll of the EFD for a site."""

    at: datetime
    fresh: bool
    """Data is arriving: without it, silence proves nothing and nobody counts as OFFLINE."""
    cscs: dict[str, CscState]
    """By ``Name:index``."""


class Efd(Integration, Protocol):
    """The EFD of one site (read-only)."""

    async def states(self) -> SiteStates:
        """Every CSC instance's last summary state and heartbeat age, in one round trip."""
        ...


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""A SAL component name (``ATDome``, ``MTM1M3TS``): also what makes it safe inside a regex."""

_TOPIC = re.compile(r"lsst\.sal\.(?P<csc>[A-Za-z0-9_]+)\.logevent_(?:heartbeat|summaryState)")
"""A measurement this client reads; the CSC is its third part."""

_RETRY_STATUS = frozenset({502, 503, 504})
"""Answers of a proxy or a restarting server: a GET is safe to send once more."""

_Instance = tuple[str, int]
"""``(CSC, salIndex)``."""


def _ms(seconds: float) -> str:
    """An InfluxQL duration literal in whole milliseconds (``now() - 60000ms``)."""
    return f"{max(1, round(seconds * 1000))}ms"


def _identifier(name: str) -> str:
    """A double-quoted InfluxQL identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error_text(body: bytes) -> str:
    """InfluxDB's own ``{"error": "..."}`` text when it sent one, else the body."""
    text = body.decode(errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, str) else text


class _RefusedError(Exception):
    """InfluxDB answered, with an ``error`` for a statement ("database not found: efd")."""


@dataclass(frozen=True, slots=True)
class _Series:
    """One topic's rows in an answer, as parsed (rows are checked as they are read)."""

    csc: str
    columns: list[object]
    rows: list[object]

    def newest(self, column: str | None) -> dict[int, tuple[float, int | None]]:
        """Per ``salIndex``, the newest row's time and ``column`` (rows where it is null skipped).

        Read in place, without a container per row: an answer has thousands of rows and a
        poll comes every few seconds, so the garbage collector should not have to notice.
        """
        at, index = self.columns.index("time"), _position(self.columns, "salIndex")
        value = None if column is None else _position(self.columns, column)
        if column is not None and value is None:
            return {}
        width = len(self.columns)
        times: dict[int, float] = {}
        values: dict[int, object] = {}
        for row in self.rows:
            if not isinstance(row, list) or len(row) != width:
                raise TypeError(f"malformed row in {self.csc}: {row!r:.100}")
            if value is not None and row[value] is None:
                continue
            when = _seconds(row[at])
            key = 0 if index is None or row[index] is None else _integer(row[index], "salIndex")
            if when >= times.get(key, -math.inf):
                times[key] = when
                values[key] = None if value is None else row[value]
        return {
            key: (when, None if values[key] is None else _integer(values[key], str(column)))
            for key, when in times.items()
        }


def _position(columns: list[object], name: str) -> int | None:
    """Where ``name`` is among the columns; None if the topic has no such field."""
    return columns.index(name) if name in columns else None


def _series(result: dict[str, object]) -> list[_Series]:
    """One statement's result, checked (its rows are checked when read)."""
    if (error := result.get("error")) is not None:
        raise _RefusedError(str(error))
    found = result.get("series", [])
    if not isinstance(found, list):
        raise TypeError(f"series is not a list: {found!r:.200}")
    series = []
    for one in found:
        if not isinstance(one, dict):
            raise TypeError(f"a series is not an object: {one!r:.200}")
        name, columns, rows = one.get("name"), one.get("columns"), one.get("values", [])
        if not isinstance(columns, list) or "time" not in columns or not isinstance(rows, list):
            raise TypeError(f"malformed series {one!r:.200}")
        match = _TOPIC.fullmatch(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(f"a series of another topic: {name!r:.100}")
        series.append(_Series(match["csc"], columns, rows))
    return series


def _parse(body: bytes, statements: int) -> list[list[_Series]]:
    """A ``chunked=true`` answer (one JSON document a line), its series by statement.

    A statement's rows may come in several chunks, each but the last marked ``partial``; an
    answer whose last chunk of a statement is still partial, or that lacks a statement, was
    cut short. ValueError or TypeError say what is wrong; _RefusedError carries InfluxDB's.
    """
    found: list[list[_Series]] = [[] for _ in range(statements)]
    complete = [False] * statements
    for line in body.splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        if not isinstance(doc, dict):
            raise TypeError("the answer is not a JSON object")
        if (error := doc.get("error")) is not None:
            raise _RefusedError(str(error))
        results = doc.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise TypeError(f"results is not a list of objects: {results!r:.200}")
        for result in results:
            number = result.get("statement_id", 0)
            if not isinstance(number, int) or not 0 <= number < statements:
                raise ValueError(f"an answer to statement {number!r}, of {statements}")
            found[number] += _series(result)
            complete[number] = not result.get("partial", False)
    if not all(complete):
        raise ValueError(f"the answer stopped short: statements complete {complete}")
    return found


def _integer(value: object, what: str) -> int:
    """An integer field as InfluxDB returns it (an int, or a float with no fraction)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"{what} {value!r} is not an integer")


def _seconds(value: object) -> float:
    """An ``epoch=ms`` timestamp, in seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"time {value!r} is not epoch milliseconds")
    return value / 1000


def _summary_state(value: int) -> SummaryState | None:
    """The state a value names; None for one this version of ts_xml does not know."""
    try:
        return SummaryState(value)
    except ValueError:
        return None


def _read(
    newest: list[_Series], window: list[_Series], events: list[_Series]
) -> tuple[dict[_Instance, float], dict[_Instance, tuple[float, int]]]:
    """Per instance, the newest heartbeat time, and the newest summaryState (time, value)."""
    beats: dict[_Instance, float] = {}
    for series in (*newest, *window):
        for index, (when, _) in series.newest(None).items():
            beats[series.csc, index] = max(when, beats.get((series.csc, index), -math.inf))
    states: dict[_Instance, tuple[float, int]] = {}
    for series in events:  # a topic may come in several chunks: the newest row wins
        for index, (when, value) in series.newest("summaryState").items():
            if value is not None and when >= states.get((series.csc, index), (-math.inf, 0))[0]:
                states[series.csc, index] = (when, value)
    return beats, states


class EfdClient:
    """The EFD of one site over InfluxDB's HTTP API: read-only, one request per poll.

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
        fresh_within: float = 5.0,
    ) -> None:
        """Say where the EFD is; nothing is sent before the first call.

        ``url``: the InfluxDB HTTP API, ``https://<fqdn>/influxdb`` in production (no
        credentials in it). ``username``/``password``: HTTP basic auth (a read-only EFD user),
        or none for a server without auth. ``cscs``: the CSC names to watch (default: every
        ``lsst.sal.*`` CSC in the EFD). ``timeout``: seconds for each HTTP request, whole.
        ``retries``: further attempts after a failed connection or a 502/503/504, never after
        a timeout (the next poll comes anyway). ``heartbeat_window``, ``lookback``,
        ``state_margin``: what each poll reads (module docstring). ``fresh_within``: how
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
        if timeout <= 0 or retry_delay < 0 or state_margin < 0:
            raise ValueError("timeout must be positive, retry_delay and state_margin not negative")
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
        self._fresh_within = fresh_within
        self._source = f"{_identifier(database)}.{_identifier(retention_policy)}"
        self._session: aiohttp.ClientSession | None = None
        self._beats: dict[_Instance, float] = {}
        """Each instance's newest heartbeat seen so far (epoch seconds)."""
        self._states: dict[_Instance, tuple[float, int]] = {}
        """Each instance's newest summaryState row seen so far: (epoch seconds, value)."""
        self._read_until: float | None = None
        """When the last successful poll started: what the next one must read from."""

    def _from(self, topic: str) -> str:
        r"""``"efd"."autogen"./^lsst\.sal\.(A|B)\.logevent_x$/``: every watched CSC's topic."""
        names = "[A-Za-z0-9_]+" if self._cscs is None else "(" + "|".join(self._cscs) + ")"
        return f"{self._source}./^lsst\\.sal\\.{names}\\.logevent_{topic}$/"

    def statements(self, now: float | None = None) -> list[str]:
        """The InfluxQL of the next poll (public so the benchmark and the tests can show it)."""
        now = time.time() if now is None else now
        since = self._lookback
        if self._read_until is not None:
            since = min(since, now - self._read_until + self._state_margin)
        beat, state = self._from("heartbeat"), self._from("summaryState")
        # Safe to build as text: the CSC names were checked in __init__, the rest are numbers.
        last, window, events = _ms(self._lookback), _ms(self._heartbeat_window), _ms(since)
        return [
            f"SELECT last(private_origin), salIndex FROM {beat} WHERE time > now() - {last}",  # noqa: S608
            f"SELECT salIndex FROM {beat} WHERE time > now() - {window}",  # noqa: S608
            f"SELECT summaryState, salIndex FROM {state} WHERE time > now() - {events}",  # noqa: S608
        ]

    def _url(self, endpoint: str) -> URL:
        """``<url>/<endpoint>``, keeping the url's path (``/influxdb`` behind the ingress)."""
        return self._base.with_path(self._base.path.rstrip("/") + "/" + endpoint)

    def _headers(self) -> dict[str, str]:
        """HTTP basic auth, encoded per request so no attribute holds the password in clear."""
        if not self._username:
            return {}
        secret = self._password.get_secret_value() if self._password is not None else ""
        token = base64.b64encode(f"{self._username}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

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
            "EFD", message, host=self._host, status=status, detail=_error_text(body) or None
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
        """Every CSC instance's last summary state and heartbeat age: one HTTP request."""
        started = time.time()
        statements = self.statements(started)
        status, body = await self._get(
            "query", {"db": self._db, "epoch": "ms", "chunked": "true", "q": ";\n".join(statements)}
        )
        self._check(status, body, 200)
        try:
            beats, states = _read(*_parse(body, len(statements)))
        except _RefusedError as e:
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
        for instance, when in beats.items():
            if when > self._beats.get(instance, -math.inf):
                self._beats[instance] = when
        for instance, (when, value) in states.items():
            if when >= self._states.get(instance, (-math.inf, 0))[0]:
                self._states[instance] = (when, value)
        self._read_until = max(started, self._read_until or started)
        now = time.time()
        newest = max(beats.values(), default=None)
        return SiteStates(
            at=datetime.fromtimestamp(now, UTC),
            fresh=newest is not None and now - newest <= self._fresh_within,
            cscs=self._reading(now),
        )

    def _reading(self, now: float) -> dict[str, CscState]:
        """What the client knows of every instance, at ``now``."""
        cscs: dict[str, CscState] = {}
        for name, index in sorted(self._beats.keys() | self._states.keys()):
            known = self._states.get((name, index))
            beat = self._beats.get((name, index))
            csc = CscState(
                name,
                index,
                _summary_state(known[1]) if known is not None else None,
                None if beat is None else max(0.0, now - beat),
            )
            cscs[csc.ref] = csc
        return cscs
