"""``upgrade-bot report``: a demo's run, as Markdown for the logbook."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.procedures import load_procedure
from bot.config.runs import run_steps
from bot.config.sites import default_sites
from bot.terminal.demo import DemoOptions, run_demo


@pytest.mark.slow
def test_the_report_of_a_demo_with_a_faulted_csc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step, times in Santiago and UTC, the CSC still in trouble, the timeline."""
    monkeypatch.delenv("UPGRADE_BOT_CONFIG", raising=False)
    db = tmp_path / "demo.db"
    options = DemoOptions(speed=2500, db=db, faults=("csc-fault:ATDome:0",), out=io.StringIO())
    assert asyncio.run(run_demo(options)) == 0
    out = io.StringIO()
    assert main(["report", "--site", "summit", "--db", str(db)], out=out) == 0
    text = out.getvalue()
    assert text.startswith("# cycle-upgrade of Summit: completed\n")
    steps = run_steps(
        default_sites()["summit"], load_procedure().for_run("summit", "cycle-upgrade")
    )
    for index, step in enumerate(steps, start=1):  # the pre-pull, off by default, is not in it
        assert f"| {index} | {step.id} | " in text
    assert (
        "## CSCs still in trouble\n\n- at verify-end-states:\n  - ATDome:0 FAULT, beating" in text
    )
    assert " -03 (" in text  # Santiago local time, with UTC beside it
    assert " UTC) Run summit-" in text
    assert "## Timeline" in text
    assert "- Per phase: shutdown " in text
    # An unknown run and a site without runs are clear errors.
    assert main(["report", "--site", "summit", "--db", str(db), "--run", "nope"]) == 2
    assert "There is no run 'nope'." in capsys.readouterr().err
    assert main(["report", "--site", "tts", "--db", str(db)]) == 1
    assert "no run of tts in this store" in capsys.readouterr().err
