"""Fixtures of the bot's tests: structlog put back after a demo, the whole bot over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import structlog

from tests.support.slack_bot import Slack, slack_and_bot


@pytest.fixture(autouse=True, scope="module")
def _restore_structlog() -> Iterator[None]:
    """A demo configures structlog for the process; put it back for the other tests."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest_asyncio.fixture
async def slack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Slack]:
    """The bot at real speed against the Slack Web API fake (only the pre-flight runs alone)."""
    async with slack_and_bot(tmp_path, monkeypatch) as s:
        yield s
