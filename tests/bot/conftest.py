"""Fixtures of the bot's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True, scope="module")
def _restore_structlog() -> Iterator[None]:
    """A demo configures structlog for the process; put it back for the other tests."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
