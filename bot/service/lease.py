"""The store's lease: one bot process drives a store at a time; a standby waits to take over.

The lease is a row in the store (:meth:`state.store.Store.take_lease`), renewed by the bot that
holds it; a bot that stops renewing (a crash, a long stall) loses it after :data:`LEASE`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

import structlog

from bot.config.file import ConfigError
from state.store import Store

log = structlog.get_logger("upgrade_bot.lease")

LEASE = timedelta(seconds=30)
"""How long the lease on the store lasts unless renewed (a crashed bot frees it after this)."""
STANDBY_POLL = 5.0
"""Seconds between a standby's tries for the lease."""
NAME = "run"
"""The lease's name in the store."""


def holder() -> str:
    """Who this bot is: its host, pid and a token of its own (two bots may share a process)."""
    return f"{socket.gethostname()} pid {os.getpid()} [{secrets.token_hex(3)}]"


async def take(store: Store, *, standby: bool) -> str:
    """Take the store's lease (one bot drives a store), or wait for it as a standby."""
    me = holder()
    while (taken := await store.take_lease(NAME, me, datetime.now(UTC), LEASE)) is not None:
        if not standby:
            raise ConfigError(
                f"another upgrade-bot drives this store: {taken}. Stop it, or start this one "
                "with --standby to take over when it stops."
            )
        log.info("Standby: another bot holds the store", holder=taken)
        await asyncio.sleep(STANDBY_POLL)
    return me


async def renew(store: Store, me: str) -> None:
    """Keep the lease while running; losing it (a long stall) is logged loudly."""
    while True:
        await asyncio.sleep(LEASE.total_seconds() / 3)
        taken = await store.take_lease(NAME, me, datetime.now(UTC), LEASE)
        if taken is not None:
            log.critical("Lost the store's lease: another bot may drive these runs", holder=taken)


async def release(store: Store, me: str) -> None:
    """Give the lease up, so a standby takes over at once."""
    await store.release_lease(NAME, me)
