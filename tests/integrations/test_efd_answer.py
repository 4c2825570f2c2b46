"""InfluxDB's answer read row by row (``integrations.efd._answer``): the newest row per index.

A steady poll's rows are read with a fast path for the common case (integer milliseconds,
integer ``salIndex``); these tests hold it to the plain definition for every shape InfluxDB
may send (a float time, a ``salIndex`` as a float with no fraction, none for a non-indexed
CSC) and to a clear error for anything else.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.efd._answer import Series, parse_answer

COLUMNS: list[object] = ["time", "private_origin", "salIndex"]


def reference(rows: list[list[Any]]) -> dict[int, tuple[float, int | None]]:
    """The newest row per index, by the definition: the last of the rows with the greatest time."""
    best: dict[int, tuple[float, int | None]] = {}
    for when, origin, index in rows:
        key = 0 if index is None else int(index)
        seconds = float(when) / 1000
        if origin is None:
            continue
        if key not in best or seconds >= best[key][0]:
            best[key] = (seconds, int(origin))
    return best


times = st.one_of(
    st.integers(0, 2**53), st.integers(0, 2**40).map(lambda n: n + 0.5)
)  # floats too: epoch=ms may carry them
indices = st.one_of(st.none(), st.integers(0, 300), st.integers(0, 300).map(float))
origins = st.one_of(st.none(), st.integers(1, 10**6), st.integers(1, 10**6).map(float))
rows = st.lists(st.tuples(times, origins, indices).map(list), max_size=60)


@given(rows)
def test_newest_row_per_index_matches_the_definition(found: list[list[object]]) -> None:
    """Whatever the mix of ints and floats, the fast path answers as the definition does."""
    assert Series("ESS", COLUMNS, list(found)).newest("private_origin") == reference(found)


@given(rows)
def test_newest_without_a_column_keeps_every_row(found: list[list[object]]) -> None:
    """With no column asked for, no row is skipped: each index's newest time."""
    expected = {
        key: (when, None) for key, (when, _) in reference([[t, 1, i] for t, _, i in found]).items()
    }
    assert Series("ESS", COLUMNS, list(found)).newest(None) == expected


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ([True, 1, 1], "epoch milliseconds"),
        ([math.nan, 1, 1], "epoch milliseconds"),
        (["2026-11-26T00:00:00Z", 1, 1], "epoch milliseconds"),
        ([1000, 1, 1.5], "salIndex 1.5 is not an integer"),
        ([1000, 1, "1"], "salIndex '1' is not an integer"),
        ([1000, 1, False], "salIndex False is not an integer"),
        ([3000, 1.5, 1], "private_origin 1.5 is not an integer"),  # the newest: its value read
        ([1000, 1], "malformed row"),
        ("1000,1,1", "malformed row"),
    ],
)
def test_a_malformed_row_is_a_clear_error(row: object, says: str) -> None:
    """A row InfluxDB would not send raises TypeError saying what is wrong with it."""
    with pytest.raises(TypeError, match=says):
        Series("ESS", COLUMNS, [[2000, 7, 1], row]).newest("private_origin")


def test_an_answer_to_another_statement_or_topic_is_refused() -> None:
    """An answer to a second statement, or to a topic this client does not read, is refused.

    One request carries one statement: anything else is malformed, not silently merged.
    """
    second = b'{"results": [{"statement_id": 1}]}'
    other = b'{"results": [{"statement_id": 0, "series": [{"name": "x", "columns": ["time"]}]}]}'
    with pytest.raises(ValueError, match="statement 1"):
        parse_answer(second)
    with pytest.raises(ValueError, match="another topic"):
        parse_answer(other)
    assert parse_answer(b'{"results": [{"statement_id": 0}]}') == []
