"""The bot's settings: one pydantic-settings model, read from the environment.

Built by the CLI and passed down, never at import time. This holds what the commands of the
present issues need; the Slack surface adds its tokens (as ``SecretStr``) and the sites'
configuration file here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from state.store import DEFAULT_URL, sqlite_url


class Settings(BaseSettings):
    """Settings from ``UPGRADE_BOT_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="UPGRADE_BOT_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL of the store (default: upgrade-bot.db here, SQLite).",
    )

    def store_url(self, db: Path | None = None) -> str:
        """The store to use: ``--db PATH`` wins, then the environment, then the default."""
        if db is not None:
            return sqlite_url(str(db))
        return self.database_url or DEFAULT_URL
