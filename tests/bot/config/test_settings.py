"""Where the store is: --db wins over the environment, which wins over the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.settings import Settings
from state.store_url import DEFAULT_URL


def test_default_store_is_sqlite_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set, the store is the SQLite default."""
    monkeypatch.delenv("UPGRADE_BOT_DATABASE_URL", raising=False)
    assert Settings().store_url() == DEFAULT_URL


def test_environment_then_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """UPGRADE_BOT_DATABASE_URL names the store; a --db path still wins."""
    url = "postgresql+asyncpg://bot@db.example.org/upgrade"
    monkeypatch.setenv("UPGRADE_BOT_DATABASE_URL", url)
    assert Settings().store_url() == url
    assert Settings().store_url(Path("runs/x.db")) == "sqlite+aiosqlite:///runs/x.db"
