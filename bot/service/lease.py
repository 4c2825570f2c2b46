"""The store's lease: one bot process drives a store at a time; a standby waits to take over.

The lease is a row in the store (:meth:`state.store.Store.take_lease`). The bot that holds it
renews it (:meth:`Lease.keep`, a worker of the running bot) and its store is *fenced*: every
write checks the lease at its epoch in the same transaction, so a bot that lost it (frozen
while a standby took over) changes nothing and its process stops.

The holder names its host and process (``host pid N [token]``): a bot or a demo started again
on the same host after a kill takes the store over at once when that process is gone, instead
of waiting out the lease. On another host nobody can tell, so the lease's expiry decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from bot.config.file import ConfigError
from state.store import Store
from state.stored import LeaseLost, StoreError

log = structlog.get_logger("upgrade_bot.lease")

LEASE = timedelta(seconds=30)
"""How long the lease on the store lasts unless renewed (a crashed bot frees it after this)."""
STANDBY_POLL = 1.0
"""Seconds between a standby's tries for the lease (a released lease is taken within this)."""
NAME = "run"
"""The lease's name in the store (the demo and ``run`` take the same one)."""

_HOLDER = re.compile(r"(?P<host>.+) pid (?P<pid>\d+) \[(?P<token>\w+)\]")


class LeaseHeld(ConfigError):
    """Another live process drives the store (one line for the person who started this one)."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease: a host, a process, and a token of its own (two bots may share one)."""

    host: str
    pid: int
    token: str

    @classmethod
    def me(cls) -> Holder:
        """The holder this process is, with a fresh token."""
        return cls(socket.gethostname(), os.getpid(), secrets.token_hex(3))

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder a lease row names (``None``: written in another form)."""
        match = _HOLDER.fullmatch(text)
        if match is None:
            return None
        return cls(match["host"], int(match["pid"]), match["token"])

    def __str__(self) -> str:
        """``host pid N [token]``, as kept in the store and shown to people."""
        return f"{self.host} pid {self.pid} [{self.token}]"

    def gone(self) -> bool:
        """Known to be gone: it ran on this host and its process runs no more."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:  # it exists, as another user
            return False
        return False


class Lease:
    """The store's lease for this process: taken, kept by a worker, guarded, released."""

    def __init__(self, *, store: Store, ttl: timedelta = LEASE) -> None:
        """Not taken yet: :meth:`take` it."""
        self._store = store
        self._ttl = ttl
        self.holder = Holder.me()
        self._confirmed = -math.inf  # monotonic time of the last renewal seen by this object

    async def take(
        self,
        *,
        standby: bool = False,
        wait_elsewhere: bool = False,
        refusal: str = "",
        say: Callable[[str], object] | None = None,
    ) -> None:
        """Take the store's lease, or wait for it, or refuse (:class:`LeaseHeld`).

        A holder known to be gone is replaced at once. Otherwise ``standby`` waits for the
        lease to be released or to expire; ``wait_elsewhere`` waits too when the holder runs on
        another host (nobody here can tell whether it lives); else this refuses, the message
        ending with ``refusal``. ``say`` tells what it waits for, once (default: the log).
        """
        me, said = str(self.holder), False
        while True:
            held = await self._store.lease(NAME)
            other = Holder.parse(held.holder) if held else None
            gone = held.holder if held and other and other.gone() else None
            try:
                taken = await self._store.take_lease(
                    NAME, me, datetime.now(UTC), self._ttl, replacing=gone
                )
            except StoreError as e:  # the store is busy or away: a standby tries again
                if not standby:
                    raise
                taken = f"unknown (the store did not answer: {e})"
            if taken is None:
                self._confirmed = time.monotonic()
                if gone:
                    (say or _log)(f"took the store over from {gone}: that process is gone")
                return
            elsewhere = other is None or other.host != self.holder.host
            if not standby and not (wait_elsewhere and elsewhere):
                raise LeaseHeld(f"another process drives this store: {taken}. {refusal}".strip())
            if not said:
                why = "standing by" if standby else "it runs on another host"
                (say or _log)(f"waiting for the store's lease, held by {taken} ({why})")
                said = True
            await asyncio.sleep(min(STANDBY_POLL, self._ttl.total_seconds() / 3))

    async def guard(self) -> None:
        """Raise :class:`LeaseLost` unless this bot may act now (before an outside call).

        Renewed less than half a term ago: nobody else can hold it yet. Longer (the process
        was frozen, or the renewal is late): the store is asked first.
        """
        if self.lost:
            raise LeaseLost("this bot no longer holds the store's lease")
        if time.monotonic() - self._confirmed >= self._ttl.total_seconds() / 2:
            await self._store.confirm_lease()
            self._confirmed = time.monotonic()

    @property
    def lost(self) -> bool:
        """Whether this bot no longer holds the lease (as far as its store has seen)."""
        return self._store.lease_epoch is None

    @property
    def epoch(self) -> int | None:
        """The lease's epoch while held."""
        return self._store.lease_epoch

    async def keep(self) -> None:
        """Renew the lease every third of its term; raise :class:`LeaseLost` once it is lost.

        Lost: another bot holds it (found by the renewal, or by any write of this bot: the
        store then sets ``lease_lost`` and this wakes at once), or the store could not be
        reached to renew it before it expired. A worker of the running bot: its end stops
        the process.
        """
        interval = self._ttl.total_seconds() / 3
        held_until = time.monotonic() + self._ttl.total_seconds()
        while True:
            with contextlib.suppress(TimeoutError):  # the term's third passed: renew
                await asyncio.wait_for(self._store.lease_lost.wait(), interval)
            try:
                await self._store.confirm_lease()
            except LeaseLost:
                raise
            except StoreError as e:
                if time.monotonic() >= held_until:
                    raise LeaseLost(f"could not renew the store's lease in time: {e}") from e
                log.warning("Could not renew the store's lease; trying again", error=str(e))
                continue
            self._confirmed = time.monotonic()
            held_until = self._confirmed + self._ttl.total_seconds()

    async def check(self) -> str | None:
        """``None`` if the store says this bot holds the lease now; else why not (health)."""
        held = await self._store.lease(NAME)
        if self.lost or held is None or held.holder != str(self.holder):
            return f"not held by this bot (held by {held.holder if held else 'nobody'})"
        if held.expires_at <= datetime.now(UTC):
            return f"expired at {held.expires_at.isoformat()}"
        return None

    async def release(self) -> None:
        """Give the lease up, so a standby takes over at once (a lost lease is left alone)."""
        try:
            await self._store.release_lease(NAME, str(self.holder))
        except StoreError as e:  # it will expire by itself
            log.warning("Could not release the store's lease", error=str(e))


def _log(text: str) -> None:
    log.info(text)
