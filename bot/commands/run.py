"""``upgrade-bot run``: the bot in a Slack workspace (Socket Mode, or HTTP with ``--http``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import TextIO

from bot.commands.exits import guarded
from bot.commands.options import rehearsal_speed
from bot.config.settings import Settings
from bot.logs import configure_logging
from bot.serve import RunOptions, parse_http, serve

DESCRIPTION = (
    "Environment: SLACK_BOT_TOKEN, SLACK_APP_TOKEN (Socket Mode), "
    "SLACK_SIGNING_SECRET (HTTP), UPGRADE_BOT_CONFIG, UPGRADE_BOT_DATABASE_URL, "
    "UPGRADE_BOT_HEALTH_HOST, UPGRADE_BOT_HEALTH_PORT, UPGRADE_BOT_LEASE_SECONDS, "
    "UPGRADE_BOT_STOP_GRACE, SLACK_API_URL. SIGTERM stops it gracefully (exit 0)."
)


def _http(value: str) -> tuple[str, int]:
    try:
        return parse_http(value)
    except ValueError as e:  # argparse shows an ArgumentTypeError's own words
        raise argparse.ArgumentTypeError(str(e)) from e


def arguments(parser: argparse.ArgumentParser) -> None:
    """The rehearsal, the standby, HTTP or Socket Mode, the procedure, the store, the logs."""
    parser.description = DESCRIPTION
    parser.add_argument(
        "--simulate", action="store_true", help="drive the simulated observatory (a rehearsal)"
    )
    parser.add_argument(
        "--speed",
        type=rehearsal_speed,
        metavar="N",
        help="with --simulate: the rehearsal runs at N times real time (default 1): the "
        "observatory's durations, deadlines, timeouts and reminders all scale",
    )
    parser.add_argument(
        "--standby",
        action="store_true",
        help="if another bot drives the store, wait and take over when it stops",
    )
    parser.add_argument(
        "--http",
        type=_http,
        metavar="[HOST:]PORT",
        help="serve Slack's requests at /slack/events instead of Socket Mode",
    )
    parser.add_argument(
        "--procedure", type=Path, metavar="FILE", help="a procedure file of your own"
    )
    parser.add_argument("--db", metavar="PATH|URL", help="the store: a SQLite file, or a URL")
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default="info"
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 when stopped by SIGTERM or SIGINT, 1 if a worker died or the lease was lost."""
    del out  # the bot speaks in Slack and in its logs
    return guarded(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    configure_logging(logging.getLevelNamesMapping()[args.log_level.upper()])
    if args.speed is not None and not args.simulate:
        raise ValueError("--speed goes with --simulate: the real observatory runs in real time")
    options = RunOptions(
        simulate=args.simulate,
        speed=args.speed or 1.0,
        standby=args.standby,
        http=args.http,
        procedure=args.procedure,
        db=args.db,
    )
    try:
        return asyncio.run(serve(Settings(), options))
    except KeyboardInterrupt:
        return 0
