"""``upgrade-bot``: the command line (the demo, and the tools for the procedure file).

Exit codes: 0 success (``run``: stopped by SIGTERM or SIGINT); 1 the thing checked is not
right (an invalid procedure, a demo run that ended failed or aborted), or the bot stopped
because a worker died or the store's lease was lost; 2 usage or configuration errors (a store
another process drives, a port that is taken), printed as one clear message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, get_args

import yaml

from bot.config.file import ConfigError, load_config
from bot.config.procedures import load_procedure
from bot.config.runs import procedure_problems
from bot.config.settings import Settings
from bot.config.unset import unset_in_runs
from bot.engine.runners.preflight import ping_all, prepull_rights
from bot.logs import configure_logging
from bot.reports.report import report
from bot.serve import RunOptions, parse_http, serve
from bot.service.supervisor import WorkerDied
from bot.terminal import demo
from bot.wiring.real import NotConfigured, SharedSecrets, SiteSecrets, missing, real_site
from integrations.announce import Notice
from integrations.sim import FAULTS, FaultError
from state.duration import format_duration
from state.errors import RunError
from state.names import PHASES, RUN_KINDS, SITES, RunKind, Site
from state.procedure import Procedure, ProcedureError, Step, procedure_schema
from state.store import Store
from state.stored import StoreError

USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="upgrade-bot",
        description="Runs the Rubin Observatory control-system upgrade, site by site.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = commands.add_parser(
        "demo",
        help="the whole upgrade of a site against the simulated observatory, in the terminal",
        description="Runs the real procedure, state machine, store and engine against a "
        "simulated observatory on a fast clock. No Slack account needed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="faults (--fault, repeatable):\n"
        + "\n".join(f"  {kind:14} {what}" for kind, what in FAULTS.items())
        + "\n  hang:STEP      the step's first attempt hangs until its timeout (a patient"
        "\n                 step: past its expected time, until the lead cancels it)",
    )
    d.add_argument("--site", choices=get_args(Site), default="summit")
    d.add_argument("--kind", choices=get_args(RunKind), default="cycle-upgrade")
    d.add_argument(
        "--speed",
        type=_speed,
        default=demo.DEFAULT_SPEED,
        metavar="N|max",
        help="simulated time runs at most N times faster than real time, or as fast as the "
        f"machine goes with max (default {demo.DEFAULT_SPEED:g}); the outcome is the same",
    )
    d.add_argument(
        "--interactive", action="store_true", help="you are the lead: approve and decide"
    )
    d.add_argument("--fault", action="append", default=[], metavar="KIND:TARGET", dest="faults")
    d.add_argument("--procedure", type=Path, metavar="FILE", help="a procedure file of your own")
    d.add_argument(
        "--db", type=Path, metavar="PATH", help="keep the run here; run again to resume it"
    )
    d.add_argument(
        "--new",
        action="store_true",
        help="start another run even if the --db file's last run has ended",
    )
    d.add_argument(
        "--prepull",
        action="store_true",
        help="enable the pre-pull of the new images for the site (kube.prepull, off by default)",
    )
    d.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="warning",
        help="the bot's own logs, on standard error (default: warning)",
    )

    r = commands.add_parser(
        "run",
        help="the bot in a Slack workspace (Socket Mode; HTTP with --http)",
        description="Environment: SLACK_BOT_TOKEN, SLACK_APP_TOKEN (Socket Mode), "
        "SLACK_SIGNING_SECRET (HTTP), UPGRADE_BOT_CONFIG, UPGRADE_BOT_DATABASE_URL, "
        "UPGRADE_BOT_HEALTH_HOST, UPGRADE_BOT_HEALTH_PORT, UPGRADE_BOT_LEASE_SECONDS, "
        "UPGRADE_BOT_STOP_GRACE, SLACK_API_URL. SIGTERM stops it gracefully (exit 0).",
    )
    r.add_argument(
        "--simulate", action="store_true", help="drive the simulated observatory (a rehearsal)"
    )
    r.add_argument(
        "--speed",
        type=_rehearsal_speed,
        metavar="N",
        help="with --simulate: the rehearsal runs at N times real time (default 1): the "
        "observatory's durations, deadlines, timeouts and reminders all scale",
    )
    r.add_argument(
        "--standby",
        action="store_true",
        help="if another bot drives the store, wait and take over when it stops",
    )
    r.add_argument(
        "--http",
        type=_http,
        metavar="[HOST:]PORT",
        help="serve Slack's requests at /slack/events instead of Socket Mode",
    )
    r.add_argument("--procedure", type=Path, metavar="FILE", help="a procedure file of your own")
    r.add_argument("--db", type=Path, metavar="PATH", help="the store (SQLite file)")
    r.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")

    c = commands.add_parser(
        "check", help="can the bot reach each system of a site? (read-only, the real clients)"
    )
    c.add_argument("--site", choices=get_args(Site), required=True)
    rep = commands.add_parser("report", help="a run as Markdown, for the logbook")
    rep.add_argument("--site", choices=get_args(Site), required=True)
    rep.add_argument("--run", metavar="ID", help="default: the site's latest run")
    rep.add_argument("--db", type=Path, metavar="PATH", help="the store (SQLite file)")
    cfg = commands.add_parser("config", help="check the configuration file")
    cfg_actions = cfg.add_subparsers(dest="action", required=True, metavar="ACTION")
    cfg_validate = cfg_actions.add_parser(
        "validate", help="check a configuration and list per site what a real run lacks"
    )
    cfg_validate.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: $UPGRADE_BOT_CONFIG"
    )
    cfg_validate.add_argument(
        "--procedure", type=Path, metavar="FILE", help="the procedure it serves (the built-in)"
    )

    p = commands.add_parser("procedure", help="show, check and describe the procedure file")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
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
    return parser


def _speed(value: str) -> float | None:
    """``--speed``: a positive number, or ``max`` (``None``: no bound)."""
    if value.strip().lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number such as 60, or max") from None
    if not math.isfinite(speed) or speed <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: the speed must be a positive number")
    return speed


def _rehearsal_speed(value: str) -> float:
    """``run --simulate --speed N``: people click in a rehearsal, so a number, not ``max``."""
    speed = _speed(value)
    if speed is None:
        raise argparse.ArgumentTypeError("a rehearsal has people in it: give a number, not max")
    return speed


def _http(value: str) -> tuple[str, int]:
    try:
        return parse_http(value)
    except ValueError as e:  # argparse shows an ArgumentTypeError's own words
        raise argparse.ArgumentTypeError(str(e)) from e


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


def _procedure_command(args: argparse.Namespace, out: TextIO) -> int:
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


def _demo_command(args: argparse.Namespace, out: TextIO) -> int:
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


async def _check_command(site: Site, out: TextIO) -> int:
    """One line per system: reached, or the real error. Exit 0 all reached, 1 otherwise."""
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


async def _report_command(site: Site, run_id: str | None, db: Path | None, out: TextIO) -> int:
    """Print the run's report; exit 1 if there is no such run."""
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


def _config_command(path: Path | None, procedure_file: Path | None, out: TextIO) -> int:
    """The file is valid, and per site what a real run lacks and what it leaves unset.

    Exit 0 only if every site has what a real run needs (secrets, endpoints) and fits the
    procedure; unset facts are listed (their steps are done by hand) without failing.
    """
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


def _run_command(args: argparse.Namespace) -> int:
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


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; return its exit code."""
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[], int]] = {
        "procedure": lambda: _procedure_command(args, out),
        "run": lambda: _run_command(args),
        "check": lambda: asyncio.run(_check_command(args.site, out)),
        "config": lambda: _config_command(args.file, args.procedure, out),
        "report": lambda: asyncio.run(_report_command(args.site, args.run, args.db, out)),
        "demo": lambda: _demo_command(args, out),
    }
    try:
        return commands[args.command]()
    except ProcedureError as e:
        sys.stderr.write(f"{e}\n")
        return 1 if args.command == "procedure" and args.action == "validate" else USAGE_ERROR
    except (ConfigError, FaultError, NotConfigured, RunError, StoreError, ValueError) as e:
        sys.stderr.write(f"upgrade-bot: {e}\n")
        return USAGE_ERROR
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        sys.stderr.close()
        return 0
