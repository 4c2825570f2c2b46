"""``upgrade-bot report``: a run as Markdown, for the logbook."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO, get_args

from bot.commands.exits import guarded
from bot.config.file import load_config
from bot.config.settings import Settings
from bot.reports.report import report
from state.names import Site
from state.store import Store


def arguments(parser: argparse.ArgumentParser) -> None:
    """The site, the run, the store."""
    parser.add_argument("--site", choices=get_args(Site), required=True)
    parser.add_argument("--run", metavar="ID", help="default: the site's latest run")
    parser.add_argument("--db", metavar="PATH|URL", help="the store: a SQLite file, or a URL")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the run's report; exit 1 if there is no such run."""
    return guarded(lambda: asyncio.run(_report(args.site, args.run, args.db, out)))


async def _report(site: Site, run_id: str | None, db: str | None, out: TextIO) -> int:
    settings = Settings()
    _, sites = load_config(settings.config)
    store = await Store.open(settings.store_url(db))
    try:
        if run_id is None:
            latest = await store.recent(site, 1)
            if not latest:
                sys.stderr.write(f"upgrade-bot: no run of {site} in this store\n")
                return 1
            run = latest[0]
        else:
            run = await store.get(run_id)
        out.write(report(run, await store.events(run.run_id), sites[run.site]))
    finally:
        await store.aclose()
    return 0
