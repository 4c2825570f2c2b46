"""The house rules a reviewer would otherwise check by hand.

ruff and mypy --strict are clean, and the layering holds (import-linter's contracts in
``pyproject.toml``: imports one way, no cycles between siblings, a pure state).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["bot", "handlers", "integrations", "state"]


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a tool of this virtual environment from the repository root."""
    return subprocess.run(  # noqa: S603  # our own tools, fixed arguments
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.slow
def test_ruff_clean() -> None:
    """Ruff (select ALL, our short ignore list) finds nothing in the code or the tests."""
    result = run_tool("ruff", "check", *PACKAGES, "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_strict_clean() -> None:
    """Mypy with no arguments (strict, every package, the tests, the benchmarks) finds nothing."""
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_layering_contracts_kept() -> None:
    """import-linter keeps every contract of ``pyproject.toml`` (the house's layering)."""
    result = subprocess.run(  # noqa: S603  # our own tool, fixed arguments
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
