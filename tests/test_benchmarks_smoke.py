"""Every benchmark of ``docs/benchmarks.md`` runs at a tiny size, so that none goes stale.

A benchmark that no longer runs against the code (a step that now needs a preview, a renamed
module) fails here, not on the day its table is regenerated. The figures are not checked: at
these sizes, on a shared machine, they mean nothing; that each table comes out whole does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.all import BENCHMARKS, DOCS, block, write


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_each_benchmark_runs_at_a_tiny_size(name: str) -> None:
    """Its table has a header, a separator and at least one row of figures."""
    lines = BENCHMARKS[name].smoke()
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) >= 3, lines  # header, separator, a row
    assert "---" in rows[1]
    assert all(row.endswith("|") for row in rows)


def test_every_table_has_its_block_in_the_docs() -> None:
    """``python -m benchmarks.all`` writes every table into a block the docs already have."""
    text = DOCS.read_text("utf-8")
    for name in BENCHMARKS:
        assert f"<!-- table: {name} -->" in text


def test_write_replaces_a_block_and_keeps_the_prose(tmp_path: Path) -> None:
    """The prose around a table stays; the table and its machine line are replaced."""
    docs = tmp_path / "benchmarks.md"
    docs.write_text("Before.\n<!-- table: store -->\nold\n<!-- /table -->\nAfter.\n", "utf-8")
    write({"store": ["| a | b |", "|---|---|", "| 1 | 2 |"]}, docs)
    text = docs.read_text("utf-8")
    assert text.startswith("Before.\n")
    assert text.endswith("After.\n")
    assert "old" not in text
    assert block("store", ["| a | b |", "|---|---|", "| 1 | 2 |"]).split("\n")[-2] in text
