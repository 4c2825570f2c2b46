"""Logs: structured (structlog), to standard error, so that standard output stays the product.

The demo's output is the run as the terminal shows it; its logs are for whoever debugs the
bot, so they go to stderr and, by default, only from warnings up.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: int = logging.WARNING) -> None:
    """Send structlog's output to stderr, dropping records below ``level``."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # A tick skipped because the last one still runs is by design (one at a time, coalesced):
    # APScheduler's warning about it is noise for whoever reads the bot's output.
    logging.getLogger("apscheduler.scheduler").setLevel(max(level, logging.ERROR))
