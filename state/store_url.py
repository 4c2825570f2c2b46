"""Where the store is: its URLs, and how to connect to a server, without the store's engine.

Apart from :mod:`state.store` so that the settings (read by every command, ``procedure
validate`` too) name the store without importing SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

DEFAULT_URL = "sqlite+aiosqlite:///upgrade-bot.db"
"""Where runs are kept unless ``UPGRADE_BOT_DATABASE_URL`` or ``--db`` say otherwise."""

REHEARSAL_URL = "sqlite+aiosqlite:///upgrade-bot-rehearsal.db"
"""Where rehearsals (``run --simulate``) are kept unless told otherwise: apart from real runs."""

OPEN_LIMIT = 20.0
"""Seconds the database has to answer when the store is opened (then: unreachable)."""

USE = "give --db PATH|URL or UPGRADE_BOT_DATABASE_URL"
"""How to name another store (the end of the advice of :func:`unopenable`)."""


def sqlite_url(path: str) -> str:
    """The URL of a SQLite file (``--db PATH``)."""
    return f"sqlite+aiosqlite:///{path}"


def store_url(db: str) -> str:
    """``--db``: a URL (``postgresql+asyncpg://...``) as given, else the path of a SQLite file."""
    return db if "://" in db else sqlite_url(db)


def engine_options(backend: str) -> dict[str, Any]:
    """How the store connects to a server: in bounded time, each connection checked first.

    A restarted server's connections are gone: ``pool_pre_ping`` replaces them before use.
    """
    if backend != "postgresql":
        return {}
    return {"pool_pre_ping": True, "connect_args": {"timeout": 10, "command_timeout": 30}}
