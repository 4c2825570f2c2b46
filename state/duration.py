"""Durations as people write them in the procedure file: ``90s``, ``10m``, ``1h30m``.

The T&S team edits the procedure every cycle; ``timeout: 20m`` reads better than ISO 8601's
``PT20M`` or a bare number of seconds, so both of those are accepted too but written back in
the short form.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+)(h|m|s)")
_WHOLE = re.compile(r"(?:\d+[hms])+")
_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> object:
    """Turn ``"1h30m"`` or seconds into a ``timedelta``; leave anything else to pydantic."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _WHOLE.fullmatch(text):
            return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(text)))
        if not text.startswith("P"):
            raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 10m, 1h30m)")
    return value


def format_duration(value: timedelta) -> str:
    """Write a duration the way the procedure file does (``1h30m``, ``45s``)."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


def human_duration(value: timedelta | float) -> str:
    """A duration for people, as the procedure file writes one: ``1h45m``, ``9m45s``, ``40s``.

    Past an hour, to the minute (an operator reads ``1h45m`` at a glance, not ``6300s``). The
    one format for durations on every screen: Slack, the terminal, the summary, the report.
    """
    seconds = max(0, int(value.total_seconds() if isinstance(value, timedelta) else value))
    if seconds >= 3600:  # noqa: PLR2004  # an hour
        seconds -= seconds % 60
    return format_duration(timedelta(seconds=seconds))


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+[hms])+$", "examples": ["30s", "10m"]}),
]
"""A positive duration; in files ``30s``, ``10m``, ``1h30m``."""
