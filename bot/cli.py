"""``upgrade-bot``: the command line (the demo, the bot, and the tools for the procedure file).

Exit codes: 0 success (``run``: stopped by SIGTERM or SIGINT); 1 the thing checked is not
right (an invalid procedure, a demo run that ended failed or aborted), or the bot stopped
because a worker died or the store's lease was lost; 2 usage or configuration errors (a store
another process drives, a port that is taken), printed as one clear message.

This module knows the commands by name only (:data:`COMMANDS`); each command's options and
work are in its module of :mod:`bot.commands`, imported when that command runs. So
``upgrade-bot --help`` costs little more than Python's start, and ``procedure validate`` never
imports the Kubernetes client, Bolt or SQLAlchemy (``tests/bot/test_cli_imports.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Protocol, TextIO, cast


class CommandModule(Protocol):
    """What a module of :mod:`bot.commands` provides."""

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""

    def run(self, args: argparse.Namespace, out: TextIO) -> int:
        """Do the command; return its exit code."""


@dataclass(frozen=True)
class Command:
    """A command as ``--help`` lists it: its module and one line of help."""

    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "bot.commands.demo",
        "the whole upgrade of a site against the simulated observatory, in the terminal",
    ),
    "run": Command(
        "bot.commands.run", "the bot in a Slack workspace (Socket Mode; HTTP with --http)"
    ),
    "check": Command(
        "bot.commands.check",
        "can the bot reach each system of a site? (read-only, the real clients)",
    ),
    "report": Command("bot.commands.report", "a run as Markdown, for the logbook"),
    "config": Command("bot.commands.config", "check the configuration file"),
    "procedure": Command("bot.commands.procedure", "show, check and describe the procedure file"),
}
"""Every command, in the order ``--help`` lists them."""


def _parser() -> argparse.ArgumentParser:
    """The top level: the commands' names and help, none of their options."""
    parser = argparse.ArgumentParser(
        prog="upgrade-bot",
        description="Runs the Rubin Observatory control-system upgrade, site by site.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        commands.add_parser(name, help=command.help)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; return its exit code."""
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        _parser().parse_args(argv)  # --help, or a usage error (exit 2): argparse's words
        return 0  # pragma: no cover - parse_args exits on both
    name, rest = argv[0], argv[1:]
    command = cast("CommandModule", import_module(COMMANDS[name].module))
    parser = argparse.ArgumentParser(prog=f"upgrade-bot {name}", description=COMMANDS[name].help)
    command.arguments(parser)
    args = parser.parse_args(rest)
    try:
        return command.run(args, out)
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        sys.stderr.close()
        return 0
