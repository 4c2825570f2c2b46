"""The terminal's printer: one live line for a running step in a terminal, plain lines else.

The terminal case writes to a StringIO that rich treats as a terminal (``live=True``); what
it writes is compared for the control sequences that redraw a line in place.
"""

from __future__ import annotations

import io

import pytest

from bot.config.sites import default_sites
from bot.engine.changes import RunChanged, StepProgress
from bot.terminal.printer import Printer
from state.commands import ActionFailed, ActionSucceeded, Approve, MarkDone
from state.machine import handle
from state.run import Run
from tests.support.runs import LEAD, at, started

UPDATES = [f"{n}/40 deleted" for n in range(1, 41)]


async def _a_step_runs_then_ends(printer: Printer) -> Run:
    """Forty progress reports of the running first step, then it succeeds."""
    run = started()
    for text in UPDATES:
        await printer(StepProgress(run, "check", 1, text))
    after, events = handle(run, ActionSucceeded("check", 1, "all reachable"), at(1))
    await printer(RunChanged(after, tuple(events)))
    return after


@pytest.mark.asyncio
async def test_not_a_terminal_prints_every_progress_as_a_plain_line() -> None:
    """A file or pipe keeps every line, with no control sequences."""
    out = io.StringIO()
    await _a_step_runs_then_ends(Printer(out=out))
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[:2] == ["[        ]     … 1/40 deleted", "[        ]     … 2/40 deleted"]
    assert len([line for line in lines if "deleted" in line]) == 40
    assert "[+0:01:00]   ✓ check: all reachable (1m)" in lines


@pytest.mark.asyncio
async def test_a_terminal_shows_a_running_steps_progress_as_one_live_line() -> None:
    """Redrawn in place (carriage return, erase line), then gone when the step ends."""
    out = io.StringIO()
    await _a_step_runs_then_ends(Printer(out=out, live=True))
    text = out.getvalue()
    assert text.count("\x1b[2K") >= 40  # each update erases the line it redraws
    assert "40/40 deleted" in text
    # Only the events are lines of their own: no progress update ends with a newline.
    assert "[+0:01:00]   ✓ check: all reachable (1m)\n" in text
    assert text.count("\n") <= 4
    assert not [u for u in UPDATES[:-1] if f"… {u}\n" in text]
    last = text.index("… 40/40 deleted")  # the last frame, then erased: up a line, erase it
    assert "\x1b[1A\x1b[2K" in text[last : text.index("✓ check: all reachable")]


@pytest.mark.asyncio
async def test_a_failed_step_is_followed_by_how_to_do_it_by_hand() -> None:
    """The site known, a failure prints the step's by-hand text (here ArgoCD's app page)."""
    out = io.StringIO()
    printer = Printer(out=out, sites=default_sites())
    run = started()
    run, _ = handle(run, ActionSucceeded("check", 1), at(1))
    manual = run.step("manual")
    assert manual is not None
    run, _ = handle(run, MarkDone(LEAD, "manual", manual.revision, note="done"), at(2))
    sync = run.step("sync")
    assert sync is not None
    run, _ = handle(run, Approve(LEAD, "sync", sync.revision), at(3))
    run, events = handle(run, ActionFailed("sync", 1, "ArgoCD answered 503"), at(4))
    await printer(RunChanged(run, tuple(events)))
    text = out.getvalue()
    assert "✗ sync FAILED: ArgoCD answered 503" in text
    assert "    by hand:\n" in text
    assert "ArgoCD nublado: https://tucson-teststand.lsst.codes/argo-cd/applications/argocd/" in (
        text
    )
