"""``upgrade-bot`` imports only what the command it runs needs.

Each case runs the command in a fresh interpreter (a subprocess: this test process has imported
everything already) and lists the heavy libraries found in ``sys.modules`` afterwards. Not timed:
what is imported is the cause of a slow start, and it does not depend on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("kubernetes", "slack_bolt", "slack_sdk", "sqlalchemy")
"""The Kubernetes client (over a second to import), Bolt and its SDK, the store's engine."""

PROCEDURE = Path(__file__).parents[2] / "bot" / "config" / "data" / "procedure.yaml"

_PROBE = """
import io, json, sys
from bot.cli import main
try:
    code = main(sys.argv[1:], out=io.StringIO())
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "heavy": [m for m in HEAVY if m in sys.modules]}))
"""


def _imported(*argv: str) -> tuple[int, list[str]]:
    """The command's exit code and the heavy libraries it imported."""
    probe = f"HEAVY = {HEAVY!r}\n{_PROBE}"
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", probe, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("UPGRADE_BOT_", "SLACK_"))},
        cwd=Path(__file__).parents[2],
    )
    last = done.stdout.strip().splitlines()[-1]
    found = json.loads(last)
    return found["code"], found["heavy"]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["procedure", "validate", str(PROCEDURE)], 0),
        (["procedure", "show", "--site", "tts"], 0),
        (["procedure", "schema"], 0),
        (["config", "validate"], 1),  # no secrets here: a real run lacks them
    ],
)
def test_light_commands_import_no_client(argv: list[str], code: int) -> None:
    """Help and the procedure and configuration tools import none of the heavy clients."""
    assert _imported(*argv) == (code, [])


def test_report_imports_the_store_but_no_client(tmp_path: Path) -> None:
    """``report`` needs the store (SQLAlchemy), not Kubernetes or Slack: the probe can fail."""
    code, heavy = _imported("report", "--site", "summit", "--db", str(tmp_path / "none.db"))
    assert code == 1  # no run of summit in a new store
    assert heavy == ["sqlalchemy"]
