"""``upgrade-bot check``: can the bot reach each system of a site? Read-only, the real clients."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import TextIO, get_args

from bot.commands.exits import guarded
from bot.config.file import load_config
from bot.config.settings import Settings
from bot.engine.runners.preflight import ping_all, prepull_rights
from bot.wiring.real import real_site
from integrations.announce import Notice
from state.names import Site


def arguments(parser: argparse.ArgumentParser) -> None:
    """The site to check."""
    parser.add_argument("--site", choices=get_args(Site), required=True)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """One line per system: reached, or the real error. Exit 0 all reached, 1 otherwise."""
    return guarded(lambda: asyncio.run(_check(args.site, out)))


async def _check(site: Site, out: TextIO) -> int:
    _, sites = load_config(Settings().config)
    real = real_site(sites[site], _NoAnnouncements())
    try:
        found = await ping_all(real.systems)
        found |= await prepull_rights(sites[site], real.systems)
    finally:
        await real.close()
    out.writelines(
        f"ok    {name}\n" if problem is None else f"FAIL  {problem}\n"
        for name, problem in found.items()
    )
    return 0 if all(problem is None for problem in found.values()) else 1


class _NoAnnouncements:
    """``check`` announces nothing."""

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Never called: ``check`` only pings."""

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Never called: ``check`` only pings."""

    async def direct(self, *, user: str, text: str) -> None:
        """Never called: ``check`` only pings."""
