"""Where the store is: its default URL and a SQLite file's URL, without the store's engine.

Apart from :mod:`state.store` so that the settings (read by every command, ``procedure
validate`` too) name the store without importing SQLAlchemy.
"""

from __future__ import annotations

DEFAULT_URL = "sqlite+aiosqlite:///upgrade-bot.db"
"""Where runs are kept unless ``UPGRADE_BOT_DATABASE_URL`` or ``--db`` say otherwise."""


def sqlite_url(path: str) -> str:
    """The URL of a SQLite file (``--db PATH``)."""
    return f"sqlite+aiosqlite:///{path}"
