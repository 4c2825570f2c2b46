"""``upgrade-bot procedure show|validate|schema``: the procedure file, shown and checked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO, get_args

import yaml

from bot.commands.exits import guarded
from bot.config.file import load_config
from bot.config.procedures import load_procedure
from bot.config.runs import procedure_problems
from bot.config.settings import Settings
from state.duration import format_duration
from state.names import PHASES, RUN_KINDS, SITES, RunKind, Site
from state.procedure import Procedure, ProcedureError, Step, procedure_schema


def arguments(parser: argparse.ArgumentParser) -> None:
    """``show``, ``validate`` and ``schema``."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the steps of a run, in order")
    show.add_argument("--site", choices=get_args(Site), default="summit")
    show.add_argument("--kind", choices=get_args(RunKind), default="cycle-upgrade")
    show.add_argument("--procedure", type=Path, metavar="FILE", help="default: the built-in")
    show.add_argument(
        "-v", "--verbose", action="store_true", help="with instructions and parameters"
    )
    validate = actions.add_parser("validate", help="check a procedure file (exit 0 valid, 1 not)")
    validate.add_argument("file", type=Path, metavar="FILE")
    actions.add_parser("schema", help="the procedure file's JSON Schema, for editors")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 1 if ``validate`` finds the file invalid, 2 if ``show`` is given a broken one."""
    return guarded(
        lambda: _procedure(args, out), invalid_procedure=1 if args.action == "validate" else 2
    )


def _procedure(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "schema":
        out.write(json.dumps(procedure_schema(), indent=2) + "\n")
        return 0
    if args.action == "validate":
        procedure = load_procedure(args.file)
        _, sites = load_config(Settings().config)
        unfit = [
            problem for site in sites.values() for problem in procedure_problems(site, procedure)
        ]
        if unfit:
            raise ProcedureError(str(args.file), unfit)
        counts = ", ".join(
            f"{s}/{k} {len(procedure.for_run(s, k))}" for s in SITES for k in RUN_KINDS
        )
        out.write(f"{args.file}: valid, {len(procedure.steps)} steps ({counts})\n")
        return 0
    show_procedure(
        load_procedure(args.procedure), args.site, args.kind, verbose=args.verbose, out=out
    )
    return 0


def _action_line(step: Step) -> str:
    action = step.action
    limits = []
    timeout = getattr(action, "timeout", None)
    if timeout is not None:
        limits.append(f"timeout {format_duration(timeout)}")
    deadline = getattr(action, "deadline", None)
    if deadline is not None:
        limits.append(f"deadline {format_duration(deadline)}")
    expected = getattr(action, "expected", None)
    if expected is not None:
        limits.append(f"expected {format_duration(expected)}, then the lead chooses")
    return action.type + (f" ({', '.join(limits)})" if limits else "")


def show_procedure(
    procedure: Procedure, site: Site, kind: RunKind, *, verbose: bool, out: TextIO
) -> None:
    """Print the steps of a run of ``kind`` at ``site``, phase by phase."""
    steps = procedure.for_run(site, kind)
    out.write(f"{procedure.name}: {kind} at {site}, {len(steps)} steps\n")
    width = max(len(step.id) for step in steps)
    number = 0
    for phase in PHASES:
        in_phase = [step for step in steps if step.phase == phase]
        if not in_phase:
            continue
        out.write(f"\n{phase.upper()}\n")
        for step in in_phase:
            number += 1
            mark = "approve" if step.needs_approval else "       "
            out.write(f"{number:3}. {step.id:{width}}  {mark}  {step.title}\n")
            out.write(f"     {'':{width}}           {_action_line(step)}\n")
            if verbose:
                _show_details(step, width, out)
    others = [f"{s}/{k}" for s in SITES for k in RUN_KINDS if (s, k) != (site, kind)]
    out.write(f"\n(other runs: {', '.join(others)})\n")


class _Dumper(yaml.SafeDumper):
    """YAML as people write it: multi-line text as a ``|`` block."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def _show_details(step: Step, width: int, out: TextIO) -> None:
    pad = " " * (width + 16)
    params = step.action.model_dump(mode="json", exclude={"type"}, exclude_unset=True)
    if params:  # as written in the file: what was set there, in block style
        text = yaml.dump(params, Dumper=_Dumper, sort_keys=False, allow_unicode=True).strip()
        out.write("".join(f"{pad}{line}\n" for line in text.splitlines()))
    out.writelines(
        f"{pad}| {line}".rstrip() + "\n" for line in step.instructions.strip().splitlines()
    )
