"""The whole bot over HTTP against the Slack Web API fake, for the tests of ``bot/``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.slack_bot import Slack, slack_and_bot


@pytest_asyncio.fixture
async def slack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Slack]:
    """The bot at real speed (nothing but the pre-flight runs by itself)."""
    async with slack_and_bot(tmp_path, monkeypatch) as s:
        yield s
