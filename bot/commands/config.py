"""``upgrade-bot config validate``: the configuration, and what a real run of each site lacks."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from bot.commands.exits import guarded
from bot.config.file import load_config
from bot.config.procedures import load_procedure
from bot.config.runs import procedure_problems
from bot.config.settings import Settings
from bot.config.unset import unset_in_runs
from bot.wiring.secrets import SharedSecrets, SiteSecrets, missing


def arguments(parser: argparse.ArgumentParser) -> None:
    """``validate [FILE] [--procedure FILE]``."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = actions.add_parser(
        "validate", help="check a configuration and list per site what a real run lacks"
    )
    validate.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: $UPGRADE_BOT_CONFIG"
    )
    validate.add_argument(
        "--procedure", type=Path, metavar="FILE", help="the procedure it serves (the built-in)"
    )


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The file is valid, and per site what a real run lacks and what it leaves unset.

    Exit 0 only if every site has what a real run needs (secrets, endpoints) and fits the
    procedure; unset facts are listed (their steps are done by hand) without failing.
    """
    return guarded(lambda: _validate(args.file, args.procedure, out))


def _validate(path: Path | None, procedure_file: Path | None, out: TextIO) -> int:
    path = path or Settings().config
    config, sites = load_config(path)
    procedure = load_procedure(procedure_file)
    out.write(f"{path or '(no file: the built-in defaults)'}: valid; "
              f"{len(config.admins)} admin(s)\n")  # fmt: skip
    shared = SharedSecrets()
    ready = True
    for name, site in sites.items():
        unfit = [str(problem) for problem in procedure_problems(site, procedure)]
        lacking = missing(site, SiteSecrets.of(name), shared) + unfit
        ready = ready and not lacking
        out.write(f"{name}: " + ("ready for real runs" if not lacking else "missing:") + "\n")
        out.writelines(f"  - {line}\n" for line in lacking)
        unset = unset_in_runs(site, procedure)
        for needed, title in ((True, "done by hand until set"), (False, "not shown until set")):
            lines = [item.line() for item in unset if item.needed == needed]
            if lines:
                out.write(f"  unset, {title}:\n")
                out.writelines(f"  - {line}\n" for line in lines)
    return 0 if ready else 1
