"""``upgrade-bot demo``: the whole upgrade of a site against the simulated observatory."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TextIO, get_args

from bot.commands.exits import guarded
from bot.commands.options import speed
from bot.logs import configure_logging
from bot.service.supervisor import WorkerDied
from bot.terminal import demo
from integrations.sim import FAULTS, FaultError
from state.names import RunKind, Site

DESCRIPTION = (
    "Runs the real procedure, state machine, store and engine against a simulated "
    "observatory on a fast clock. No Slack account needed."
)


def arguments(parser: argparse.ArgumentParser) -> None:
    """The site, the kind of run, the clock, the faults, the store."""
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "faults (--fault, repeatable):\n"
        + "\n".join(f"  {kind:14} {what}" for kind, what in FAULTS.items())
        + "\n  hang:STEP      the step's first attempt hangs until its timeout (a patient"
        "\n                 step: past its expected time, until the lead cancels it)"
    )
    parser.add_argument("--site", choices=get_args(Site), default="summit")
    parser.add_argument("--kind", choices=get_args(RunKind), default="cycle-upgrade")
    parser.add_argument(
        "--speed",
        type=speed,
        default=demo.DEFAULT_SPEED,
        metavar="N|max",
        help="simulated time runs at most N times faster than real time, or as fast as the "
        f"machine goes with max (default {demo.DEFAULT_SPEED:g}); the outcome is the same",
    )
    parser.add_argument(
        "--interactive", action="store_true", help="you are the lead: approve and decide"
    )
    parser.add_argument(
        "--fault", action="append", default=[], metavar="KIND:TARGET", dest="faults"
    )
    parser.add_argument(
        "--procedure", type=Path, metavar="FILE", help="a procedure file of your own"
    )
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="keep the run here (a SQLite file, or a postgresql+asyncpg:// URL); run again "
        "to resume it",
    )
    parser.add_argument(
        "--new",
        action="store_true",
        help="start another run even if the --db file's last run has ended",
    )
    parser.add_argument(
        "--prepull",
        action="store_true",
        help="enable the pre-pull of the new images for the site (kube.prepull, off by default)",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="warning",
        help="the bot's own logs, on standard error (default: warning)",
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 0 if the run completed, 1 if it ended failed or aborted; 2 a fault that cannot be."""
    return guarded(lambda: _demo(args, out), also=(FaultError,))


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    configure_logging(logging.getLevelNamesMapping()[args.log_level.upper()])
    options = demo.DemoOptions(
        site=args.site,
        kind=args.kind,
        speed=args.speed,
        interactive=args.interactive,
        faults=tuple(args.faults),
        procedure=args.procedure,
        db=args.db,
        new=args.new,
        prepull=args.prepull,
        out=out,
    )
    try:
        return asyncio.run(demo.run_demo(options))
    except EOFError:
        where = f"; run it again with --db {args.db} to go on" if args.db else ""
        sys.stderr.write(f"upgrade-bot: standard input closed before the run ended{where}\n")
        return 1
    except KeyboardInterrupt:
        where = f" run it again with --db {args.db} to resume" if args.db else ""
        sys.stderr.write(f"interrupted;{where or ' (without --db nothing was kept)'}\n")
        return 130
    except WorkerDied as e:  # the lease was lost: another process took the store over
        sys.stderr.write(f"upgrade-bot: the demo stopped: {e}\n")
        return 1
