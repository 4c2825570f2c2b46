"""Two real ``upgrade-bot demo`` processes on one ``--db`` file: one drives, the other is refused.

The first demo runs a whole upgrade; a second one started on the same file while the first
runs is refused in one line (exit 2) and changes nothing: the shutdown script runs once. Run
again after the run completed, the demo shows that run and starts no other.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import BOT, read_until


def demo(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``upgrade-bot demo --db DB ARGS`` to its end."""
    return subprocess.run(  # noqa: S603  # our own console script
        [str(BOT), "demo", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
def test_a_second_demo_is_refused_while_the_first_completes(tmp_path: Path) -> None:
    """One line and exit 2 for the second; one shutdown script; the run is not started again."""
    db = tmp_path / "demo.db"
    first = subprocess.Popen(  # noqa: S603  # our own console script
        [str(BOT), "demo", "--db", str(db), "--speed", "1200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = read_until(first, r"system_wide_shutdown.py \(script \d+\) RUNNING")
        second = demo(db, "--speed", "1200")
        rest, errors = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == 2
    assert second.stdout == ""
    host = re.escape(socket.gethostname())
    assert re.fullmatch(
        rf"upgrade-bot: another process drives this store: {host} pid {first.pid} \[\w+\], "
        r"until \S+\. Wait for it to end, or stop it\.\n",
        second.stderr,
    ), second.stderr

    out = "".join(lines) + rest
    assert first.returncode == 0, out + errors
    assert "Run completed." in out
    assert set(re.findall(r"system_wide_shutdown.py \(script (\d+)\)", out)) == {"100001"}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        started = conn.execute(
            "SELECT COUNT(*) FROM events WHERE type = 'step.started' AND body LIKE ?",
            ('%"step_id":"shutdown-cscs"%',),
        ).fetchone()
        assert started == (1,)

    again = demo(db, "--speed", "1200")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.match(
        r"Run summit-\S+ \(cycle-upgrade of summit\) has ended: completed\. ", again.stdout
    )
    assert "system_wide_shutdown.py" not in again.stdout
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("completed",)]
