"""The bot's settings: one pydantic-settings model, read from the environment.

Built by the CLI and passed down, never at import time. Secrets come from the environment
only (``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``, ``SLACK_SIGNING_SECRET``), typed ``SecretStr`` so
they print as ``**********``; the sites, people and groups are in the YAML file named by
``UPGRADE_BOT_CONFIG`` (see ``bot/config/file.py``), which refuses secrets.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from state.store_url import DEFAULT_URL, REHEARSAL_URL, store_url


class Settings(BaseSettings):
    """Settings from ``UPGRADE_BOT_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="UPGRADE_BOT_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL of the store (default: upgrade-bot.db here, SQLite; "
        "PostgreSQL: postgresql+asyncpg://USER:PASSWORD@HOST/DB, the [postgres] extra).",
    )
    rehearsal_database_url: str | None = Field(
        default=None,
        description="The store of rehearsals (run --simulate), never that of real runs "
        "(default: upgrade-bot-rehearsal.db here, SQLite).",
    )

    rehearsal_audiences: bool = Field(
        default=False,
        description="A rehearsal (run --simulate) announces to the audiences beyond the site "
        "channel too (the camera team...), mentioning their groups; by default it does not.",
    )

    config: Path | None = Field(
        default=None, description="The YAML file with the sites, admins and who may start runs."
    )
    health_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of /healthz and /metrics (0: none)."
    )
    health_host: str = Field(
        default="127.0.0.1",
        description="Address /healthz and /metrics listen on: loopback unless exposed on "
        "purpose (the container image sets 0.0.0.0, for the cluster's probes).",
    )
    lease_seconds: float = Field(
        default=30.0,
        ge=1.0,
        le=600.0,
        description="How long the store's lease lasts unless renewed (renewed every third "
        "of it): a bot that froze or died longer than this is replaced by its standby.",
    )
    stop_grace: float = Field(
        default=5.0,
        ge=0.0,
        le=60.0,
        description="On SIGTERM, seconds a step under way has to finish and record its "
        "outcome before it is recorded as interrupted (docker stop waits 10 s in all).",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_BOT_TOKEN",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_APP_TOKEN",
        description="App-level token (xapp-...) for Socket Mode.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_SIGNING_SECRET",
        description="Verifies requests in HTTP mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias="SLACK_API_URL",
        description="The Slack Web API's base URL (a test points it at a local fake).",
    )

    def store_url(self, db: str | Path | None = None, *, rehearsal: bool = False) -> str:
        """The store to use: ``--db PATH|URL`` wins, then the environment, then the default.

        A rehearsal has a store of its own unless ``--db`` names one: its runs are never
        mixed with the real ones by accident.
        """
        if db is not None:
            return store_url(str(db))
        if rehearsal:
            return self.rehearsal_database_url or REHEARSAL_URL
        return self.database_url or DEFAULT_URL
