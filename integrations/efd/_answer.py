"""InfluxDB's answer to a poll, parsed and checked: each topic's newest rows per ``salIndex``.

What the answer to one statement looks like (``chunked=true``, one JSON document a line)
is in the package docstring (:mod:`integrations.efd`). A malformed answer raises
ValueError or TypeError saying what is wrong; an answer carrying InfluxDB's own ``error``
raises :class:`RefusedError`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass

_TOPIC = re.compile(
    r"lsst\.sal\.(?P<csc>[A-Za-z0-9_]+)\.logevent_(?:heartbeat|summaryState|offlineDetailedState)"
)
"""A measurement this client reads; the CSC is its third part."""

Instance = tuple[str, int]
"""``(CSC, salIndex)``."""


def error_text(body: bytes) -> str:
    """InfluxDB's own ``{"error": "..."}`` text when it sent one, else the body."""
    text = body.decode(errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, str) else text


class RefusedError(Exception):
    """InfluxDB answered, with an ``error`` for a statement ("database not found: efd")."""


@dataclass(frozen=True, slots=True)
class Series:
    """One topic's rows in an answer, as parsed (rows are checked as they are read)."""

    csc: str
    columns: list[object]
    rows: list[object]

    def newest(self, column: str | None) -> dict[int, tuple[float, int | None]]:
        """Per ``salIndex``, the newest row's time and ``column`` (rows where it is null skipped).

        Read in place, without a container per row, and the common case (integer
        milliseconds, integer ``salIndex``) checked by type alone: a steady poll has hundreds
        of rows and comes every few seconds, so this loop is most of its Python time.
        """
        at, index = self.columns.index("time"), _position(self.columns, "salIndex")
        value = None if column is None else _position(self.columns, column)
        if column is not None and value is None:
            return {}
        width = len(self.columns)
        times: dict[int, float] = {}
        rows: dict[int, list[object]] = {}
        for row in self.rows:
            if type(row) is not list or len(row) != width:
                raise TypeError(f"malformed row in {self.csc}: {row!r:.100}")
            if value is not None and row[value] is None:
                continue
            stamp, salindex = row[at], None if index is None else row[index]
            when = stamp if type(stamp) is int else _milliseconds(stamp)
            key = salindex if type(salindex) is int else _index(salindex)
            if when >= times.get(key, -math.inf):
                times[key] = when
                rows[key] = row
        return {
            key: (
                when / 1000,
                None if value is None else _integer(rows[key][value], str(column)),
            )
            for key, when in times.items()
        }


@functools.lru_cache(maxsize=4096)
def _csc(topic: str) -> str | None:
    """The CSC of a topic this client reads, None for any other (each poll names the same)."""
    match = _TOPIC.fullmatch(topic)
    return None if match is None else match["csc"]


def _position(columns: list[object], name: str) -> int | None:
    """Where ``name`` is among the columns; None if the topic has no such field."""
    return columns.index(name) if name in columns else None


def _series(result: dict[str, object]) -> list[Series]:
    """One statement's result, checked (its rows are checked when read)."""
    if (error := result.get("error")) is not None:
        raise RefusedError(str(error))
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
        csc = _csc(name) if isinstance(name, str) else None
        if csc is None:
            raise ValueError(f"a series of another topic: {name!r:.100}")
        series.append(Series(csc, columns, rows))
    return series


def parse_answer(body: bytes) -> list[Series]:
    """A ``chunked=true`` answer to one statement (one JSON document a line), its series.

    The rows may come in several chunks, each but the last marked ``partial``; an answer
    whose last chunk is still partial, or that has none, was cut short. ValueError or
    TypeError say what is wrong; RefusedError carries InfluxDB's.
    """
    found: list[Series] = []
    complete = False
    lines = [line for line in body.splitlines() if line.strip()]
    for doc in json.loads(b"[" + b",".join(lines) + b"]"):  # one parse: a chunk is a series
        if not isinstance(doc, dict):
            raise TypeError("the answer is not a JSON object")
        if (error := doc.get("error")) is not None:
            raise RefusedError(str(error))
        results = doc.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise TypeError(f"results is not a list of objects: {results!r:.200}")
        for result in results:
            if (number := result.get("statement_id", 0)) != 0:
                raise ValueError(f"an answer to statement {number!r}, of one")
            found += _series(result)
            complete = not result.get("partial", False)
    if not complete:
        raise ValueError("the answer stopped short: its last chunk is partial, or missing")
    return found


def _integer(value: object, what: str) -> int:
    """An integer field as InfluxDB returns it (an int, or a float with no fraction)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"{what} {value!r} is not an integer")


def _index(value: object) -> int:
    """A ``salIndex`` that is not an int: none (a non-indexed CSC: 0), or an integral float."""
    return 0 if value is None else _integer(value, "salIndex")


def _milliseconds(value: object) -> float:
    """An ``epoch=ms`` timestamp that is not an int: a finite number, or TypeError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"time {value!r} is not epoch milliseconds")
    return value


def last_values(found: list[Series], column: str) -> dict[str, int]:
    """Per CSC, the value of ``column`` in its newest row (a ``last()`` answer, index 0)."""
    values: dict[str, tuple[float, int]] = {}
    for series in found:
        for when, value in series.newest(column).values():
            if value is not None and when >= values.get(series.csc, (-math.inf, 0))[0]:
                values[series.csc] = (when, value)
    return {csc: value for csc, (_, value) in values.items()}


def latest(
    heartbeats: list[Series], events: list[Series]
) -> tuple[dict[Instance, float], dict[Instance, tuple[float, int]]]:
    """Per instance, the newest heartbeat time, and the newest summaryState (time, value)."""
    beats: dict[Instance, float] = {}
    for series in heartbeats:
        for index, (when, _) in series.newest(None).items():
            beats[series.csc, index] = max(when, beats.get((series.csc, index), -math.inf))
    states: dict[Instance, tuple[float, int]] = {}
    for series in events:  # a topic may come in several chunks: the newest row wins
        for index, (when, value) in series.newest("summaryState").items():
            if value is not None and when >= states.get((series.csc, index), (-math.inf, 0))[0]:
                states[series.csc, index] = (when, value)
    return beats, states
