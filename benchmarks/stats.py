"""The figures every benchmark table shows: n, p50, p99 (only with enough samples), max."""

from __future__ import annotations

import statistics

ENOUGH_FOR_P99 = 100
"""Below this many samples a p99 is the maximum or next to it: the table says so instead."""


def p99(values: list[float]) -> float | None:
    """The 99th percentile, or ``None`` with fewer than :data:`ENOUGH_FOR_P99` samples."""
    if len(values) < ENOUGH_FOR_P99:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def summary_row(label: str, values: list[float]) -> str:
    """``| label | n | p50 | p99 (or "n<100") | max |`` in milliseconds."""
    tail = p99(values)
    tail_text = f"{tail:.2f}" if tail is not None else f"(n<{ENOUGH_FOR_P99})"
    return (
        f"| {label} | {len(values)} | {statistics.median(values):.2f} | {tail_text} "
        f"| {max(values):.2f} |"
    )
