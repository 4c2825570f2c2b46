"""Argument types the commands share: how fast simulated time may run."""

from __future__ import annotations

import argparse
import math


def speed(value: str) -> float | None:
    """``--speed``: a positive number, or ``max`` (``None``: no bound)."""
    if value.strip().lower() == "max":
        return None
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number such as 60, or max") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: the speed must be a positive number")
    return number


def rehearsal_speed(value: str) -> float:
    """``run --simulate --speed N``: people click in a rehearsal, so a number, not ``max``."""
    number = speed(value)
    if number is None:
        raise argparse.ArgumentTypeError("a rehearsal has people in it: give a number, not max")
    return number
