"""A real ``upgrade-bot demo`` killed with SIGKILL mid-step, then started again on its store.

On a SQLite file and on a real PostgreSQL. Nothing but the store survives the kill, so this
proves the run, the simulated observatory and the clock are all kept there, and that the step
found running comes back as interrupted, for the lead to decide (never re-run alone). The demo
started again takes the store's lease over at once: the process that held it is gone.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.postgres import postgres
from tests.support.processes import BOT, read_until


@pytest.mark.slow
def test_killed_demo_resumes_the_same_run(database_url: str) -> None:
    """Killed (SIGKILL) while the shutdown script runs; restarted, the retry follows it."""
    db = database_url
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(  # noqa: S603  # our own console script
        [str(BOT), "demo", "--db", str(db), "--speed", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        lines = read_until(first, r"shutdown-cscs: .*\(approved by demo-lead\)")
        read_until(first, r"system_wide_shutdown.py \(script \d+\) RUNNING")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    run_id = re.search(r"Run (summit-\d{8}-\d{6}):", "".join(lines))
    assert run_id is not None

    second = subprocess.run(  # noqa: S603
        [str(BOT), "demo", "--db", str(db), "--speed", "2500"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )

    out = second.stdout
    assert second.returncode == 0, out + second.stderr
    assert f"(took the store over from {socket.gethostname()} pid {first.pid} [" in out  # at once
    assert f"Resuming run {run_id.group(1)} at step shutdown-cscs (interrupted)" in out
    assert "shutdown-cscs INTERRUPTED" in out
    assert "shutdown-cscs: Send all CSCs OFFLINE" in out
    assert "(retry by demo-lead), attempt 2" in out
    assert "Run completed." in out
    assert re.search(r"shutdown-cscs\s+succeeded\s+2 ", out), out
    assert f"Summary of run {run_id.group(1)}:" in out
    # The observatory was kept too: the script queued before the kill, 100001, ran on in its
    # queue; the retry reads the queue and follows it, never adding a second copy.
    assert (
        "system_wide_shutdown.py (script 100001) RUNNING was queued by an earlier attempt: "
        "following it, not adding another"
    ) in out
    assert "system_wide_shutdown.py ended DONE (script 100001 on ScriptQueue 1)" in out
    assert "system_wide_shutdown.py (script 100002)" not in out
    assert "verify-offline: 145/145 OFFLINE" in out


@pytest.mark.slow
def test_a_demo_goes_on_through_a_database_restart(tmp_path: Path) -> None:
    """PostgreSQL restarted (fast shutdown: every connection cut) mid-step: the run completes.

    The step whose progress could not be written is recorded as crashed and retried; the
    retry follows the script the first attempt queued (the store lost nothing committed).
    """
    with postgres() as server, (tmp_path / "demo.log").open("w") as log:
        url = server.url(asyncio.run(server.create_database()))
        demo = subprocess.Popen(  # noqa: S603  # our own console script
            [str(BOT), "demo", "--db", url, "--speed", "100"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            read_until(demo, r"system_wide_shutdown.py \(script \d+\) RUNNING")
            server.stop()
            server.start()
            out, _ = demo.communicate(timeout=300)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()
    assert demo.returncode == 0, out[-3000:] + (tmp_path / "demo.log").read_text()[-3000:]
    assert "Run completed." in out
    assert "system_wide_shutdown.py (script 100002)" not in out
