"""``upgrade-bot`` in-process: ``procedure show|validate|schema``, usage errors, and the demo.

Every command goes through :func:`bot.cli.main` with its output in a :class:`io.StringIO`.
The demo runs the real engine against the simulated observatory on a fast clock; each run is
given a time limit, so that a demo that never ends fails its test instead of hanging the suite.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.config.procedures import load_procedure
from state.actions import ACTION_TYPES
from state.names import PHASES
from state.procedure import Procedure

SHIPPED = Path(str(resources.files("bot.config").joinpath("data", "procedure.yaml")))
SUMMIT_ONLY = (
    "m2-closed-loop",
    "bare-metal-shutdown",
    "bare-metal-config",
    "ess-controllers",
    "bare-metal-startup",
)
ANNOUNCEMENTS = ("nublado-going-down", "camera-stage-1", "camera-stage-2", "nublado-available")

SPEED = "max"
"""The demo runs as fast as the machine goes: on simulated time the outcome is the same at any
speed and on any machine (see the last tests)."""
DEMO_LIMIT = 60.0
"""Seconds of real time a demo run may take before its test fails (it takes a few)."""


@pytest.fixture(scope="module")
def procedure() -> Procedure:
    """The shipped procedure, loaded once."""
    return load_procedure()


def cli(*argv: str) -> tuple[int, str]:
    """Run ``upgrade-bot ARGV``; its exit code and standard output."""
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@dataclass
class _Outcome:
    """What a command run in a thread came to."""

    code: int | None = None
    error: BaseException | None = None


def demo(*argv: str, limit: float = DEMO_LIMIT) -> tuple[int, str]:
    """Run ``upgrade-bot demo ARGV``, failing the test if it has not ended within ``limit``."""
    out = io.StringIO()
    outcome = _Outcome()

    def target() -> None:
        try:
            outcome.code = main(["demo", *argv], out=out)
        except BaseException as e:  # noqa: BLE001  # re-raised in the test's thread
            outcome.error = e

    thread = threading.Thread(target=target, name="upgrade-bot demo", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        pytest.fail(
            f"upgrade-bot demo {' '.join(argv)} did not end within {limit:g} s; "
            f"its output ends:\n{out.getvalue()[-1500:]}"
        )
    if outcome.error is not None:
        raise outcome.error
    assert outcome.code is not None
    return outcome.code, out.getvalue()


def write_copy(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Write the shipped procedure, changed by ``edit``, to ``path``."""
    data = yaml.safe_load(SHIPPED.read_text("utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def step_of(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step ``step_id`` of a procedure as raw YAML data."""
    return next(step for step in data["steps"] if step["id"] == step_id)


def broken_copy(path: Path) -> Path:
    """A copy of the shipped procedure that breaks a rule (no Watcher first)."""

    def edit(data: dict[str, Any]) -> None:
        step_of(data, "shutdown-cscs")["action"]["config"]["start_with"] = ["MTDome"]

    return write_copy(path, edit)


@dataclass(frozen=True)
class Listed:
    """One step as ``procedure show`` lists it."""

    number: int
    id: str
    approve: bool
    title: str
    phase: str


def listed_steps(text: str) -> list[Listed]:
    """The numbered step lines of ``procedure show``, with the phase header above each."""
    steps = []
    phase = ""
    for line in text.splitlines():
        if line.lower() in PHASES:
            phase = line.lower()
            continue
        match = re.match(r"^ *(\d+)\. (\S+) +(.*)$", line)
        if match:
            number, step_id, rest = match.groups()
            approve = rest.startswith("approve  ")
            title = rest.removeprefix("approve").strip()
            steps.append(Listed(int(number), step_id, approve, title, phase))
    return steps


def verbose_details(text: str) -> dict[str, tuple[Any, list[str]]]:
    """Per step id, from ``show -v``: its parameters (read back as YAML) and instructions."""
    details = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^ *\d+\. (\S+) ", line)
        if not match:
            continue
        action_line = lines[index + 1]
        pad = len(action_line) - len(action_line.lstrip())
        params, instructions = [], []
        for detail in lines[index + 2 :]:
            if not detail or re.match(r"^ *\d+\. \S+ ", detail):
                break
            body = detail[pad:]
            if body.startswith("|"):
                instructions.append(body[2:])
            else:
                params.append(body)
        details[match.group(1)] = (yaml.safe_load("\n".join(params)), instructions)
    return details


def summary_rows(text: str) -> dict[str, list[str]]:
    """The rows of the end-of-run summary the demo posts, by step id: result, attempts, ..."""
    table = text[text.index("| Summary of run ") :]
    rows = {}
    for line in table.splitlines()[2:]:
        fields = line.replace("|", " ", 1).split()  # a posted line: "           |   1 preflight"
        if len(fields) >= 4 and fields[0].isdigit():  # #, step, result, att
            rows[fields[1]] = fields[2:]
    return rows


def runs_in(db: Path) -> list[tuple[str, str]]:
    """(run id, status) of every run kept in a demo's ``--db`` file (none if no file)."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT run_id, status FROM runs").fetchall()
    return sorted(rows)


def copy_db(source: Path, target: Path) -> Path:
    """Copy a closed SQLite store (with its WAL files, if any are left)."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


# ------------------------------------------------------------------------ procedure show


def test_show_default_lists_the_summit_cycle_upgrade(procedure: Procedure) -> None:
    """The default run: header, the four phases in order, every step in order, approvals."""
    code, text = cli("procedure", "show")
    assert code == 0
    assert text.startswith("Deploying the Upgrade: cycle-upgrade at summit, 26 steps\n")
    headers = [line for line in text.splitlines() if line.lower() in PHASES]
    assert headers == ["SHUTDOWN", "CONFIGURATION", "DEPLOYMENT", "VERIFICATION"]
    expected = procedure.for_run("summit", "cycle-upgrade")
    listed = listed_steps(text)
    assert [s.id for s in listed] == [s.id for s in expected]
    assert [s.number for s in listed] == list(range(1, 27))
    assert [s.title for s in listed] == [s.title for s in expected]
    assert [s.phase for s in listed] == [s.phase for s in expected]
    assert {s.id for s in listed if s.approve} == {s.id for s in expected if s.needs_approval}
    approved = {s.id for s in listed if s.approve}
    assert {"shutdown-cscs", "kube-cleanup", "sync-sasquatch"} <= approved
    assert "announce-start" not in approved
    assert "love.run_script (timeout 30m)" in text
    assert "efd.wait_for_states (deadline 10m)" in text
    assert "(other runs: summit/system-restart, tts/cycle-upgrade," in text
    assert "start_with" not in text  # parameters only with -v


@pytest.mark.parametrize(("site", "count"), [("tts", 21), ("bts", 21)])
def test_show_test_stands_leave_out_the_summit_only_steps(
    procedure: Procedure, site: str, count: int
) -> None:
    """The test stands walk every step but the five summit-only ones."""
    code, text = cli("procedure", "show", "--site", site)
    assert code == 0
    assert text.startswith(f"Deploying the Upgrade: cycle-upgrade at {site}, {count} steps\n")
    ids = [s.id for s in listed_steps(text)]
    summit = [s.id for s in procedure.for_run("summit", "cycle-upgrade")]
    assert ids == [i for i in summit if i not in SUMMIT_ONLY]
    for step_id in SUMMIT_ONLY:
        assert step_id not in text


def test_show_system_restart_starts_the_cameras_itself() -> None:
    """A system restart has the camera start-up's three stages, no camera-stage announcements."""
    code, text = cli("procedure", "show", "--kind", "system-restart")
    assert code == 0
    assert text.startswith("Deploying the Upgrade: system-restart at summit, 27 steps\n")
    ids = [s.id for s in listed_steps(text)]
    stages = ["camera-startup", "camera-ccs-available", "camera-enter-control"]
    assert ids[ids.index("sync-telescope") + 1 : ids.index("bare-metal-startup")] == stages
    assert "ccs.set_available (expected 15m, then the lead chooses)" in text
    assert "love.enter_control (timeout 10m)" in text
    assert "announce-camera-stage-1" not in text
    assert "announce-camera-stage-2" not in text
    assert "(other runs: summit/cycle-upgrade," in text


def test_show_verbose_has_parameters_and_instructions() -> None:
    """``-v`` prints under each step the parameters set in the file, and its instructions."""
    code, text = cli("procedure", "show", "-v")
    assert code == 0
    details = verbose_details(text)
    raw = yaml.safe_load(SHIPPED.read_text("utf-8"))
    plain = cli("procedure", "show")[1]
    assert list(details) == [s.id for s in listed_steps(plain)]
    for step_id, (params, instructions) in details.items():
        step = step_of(raw, step_id)
        written = {k: v for k, v in step["action"].items() if k != "type"}
        assert (params or {}) == written, step_id
        lines = [line.rstrip() for line in step.get("instructions", "").strip().splitlines()]
        assert instructions == lines, step_id
    params, instructions = details["shutdown-cscs"]
    assert params["config"]["start_with"] == ["Watcher"]
    assert params["script"] == "system_wide_shutdown.py"
    assert instructions[0].startswith("Runs `system_wide_shutdown.py` (STANDARD) on ScriptQueue 1")
    assert "timeout" not in details["announce-start"][0]  # left at its default in the file


def test_show_verbose_parameters_read_like_the_file() -> None:
    """``-v`` shows parameters one per line, and a message as the block it is in the file."""
    _, text = cli("procedure", "show", "-v")
    preflight = text[text.index(" preflight ") : text.index(" announce-start ")]
    assert "{" not in preflight
    assert re.search(r"^ +timeout: 2m$", preflight, re.MULTILINE)
    announce = text[text.index(" announce-start ") : text.index(" shutdown-cscs ")]
    assert "message: |" in announce


def test_show_another_procedure_file(tmp_path: Path) -> None:
    """``--procedure FILE`` shows that file, with its edits."""

    def edit(data: dict[str, Any]) -> None:
        data["name"] = "Cycle 41 upgrade"
        step_of(data, "kube-cleanup")["title"] = "Clean up Kubernetes (edited)"

    path = write_copy(tmp_path / "mine.yaml", edit)
    code, text = cli("procedure", "show", "--procedure", str(path))
    assert code == 0
    assert text.startswith("Cycle 41 upgrade: cycle-upgrade at summit, 26 steps\n")
    assert next(s for s in listed_steps(text) if s.id == "kube-cleanup").title == (
        "Clean up Kubernetes (edited)"
    )
    assert "Deploying the Upgrade" not in text


def test_show_a_broken_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``show --procedure`` with a broken file: exit 2, the problems on stderr, nothing shown."""
    path = broken_copy(tmp_path / "broken.yaml")
    code, text = cli("procedure", "show", "--procedure", str(path))
    assert code == 2
    assert text == ""
    err = capsys.readouterr().err
    assert f"{path}: 1 problem(s):" in err
    assert "step 'shutdown-cscs', action.config.start_with: must begin with Watcher" in err


# -------------------------------------------------------------------- procedure validate


def test_validate_the_shipped_file() -> None:
    """The shipped file is valid; the per-run step counts are those of docs/procedure.md."""
    code, text = cli("procedure", "validate", str(SHIPPED))
    assert code == 0
    assert text == (
        f"{SHIPPED}: valid, 29 steps (summit/cycle-upgrade 26, summit/system-restart 27, "
        "tts/cycle-upgrade 21, tts/system-restart 22, bts/cycle-upgrade 21, "
        "bts/system-restart 22)\n"
    )


def _duplicate_id(data: dict[str, Any]) -> None:
    step_of(data, "announce-start")["id"] = "preflight"


def _unknown_action_type(data: dict[str, Any]) -> None:
    step_of(data, "offline-stragglers")["action"]["type"] = "love.teleport"


def _no_watcher_first(data: dict[str, Any]) -> None:
    step_of(data, "shutdown-cscs")["action"]["config"]["start_with"] = ["MTDome"]


def _misspelt_first(data: dict[str, Any]) -> None:
    step_of(data, "sync-telescope")["action"]["first"] = ["control-system-test", "lvoe"]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_duplicate_id, "step 'preflight', id: used by 2 steps; ids must be unique"),
        (
            _misspelt_first,
            (
                "step 'sync-telescope', action.first: 'lvoe' is not an application of project "
                "'telescope' at summit (did you mean 'love'?)"
            ),
        ),
        (_unknown_action_type, "step 'offline-stragglers', action: unknown action type; known:"),
        (
            _no_watcher_first,
            "step 'shutdown-cscs', action.config.start_with: must begin with Watcher",
        ),
    ],
    ids=["duplicate-id", "misspelt-first", "unknown-action-type", "no-watcher-first"],
)
def test_validate_a_broken_copy(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    """A broken copy: exit 1, and stderr names the file, the step id and the field."""
    path = write_copy(tmp_path / "mine.yaml", edit)
    code, text = cli("procedure", "validate", str(path))
    assert code == 1
    assert text == ""
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: ")
    assert f"  - {problem}" in err


def test_validate_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there: exit 1, naming it."""
    path = tmp_path / "nowhere.yaml"
    code, text = cli("procedure", "validate", str(path))
    assert code == 1
    assert text == ""
    err = capsys.readouterr().err
    assert f"{path}: 1 problem(s):" in err
    assert "cannot read: No such file or directory" in err


# ---------------------------------------------------------------------- procedure schema


def test_schema_is_json_schema_with_every_action_type() -> None:
    """``schema`` prints JSON Schema with its definitions and every action type."""
    code, text = cli("procedure", "schema")
    assert code == 0
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$defs"]
    assert set(schema["required"]) >= {"name", "steps"}
    for action_type in ACTION_TYPES:
        assert json.dumps(action_type) in text, action_type


def test_schema_accepts_the_shipped_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    """The shipped procedure validates against the schema; an unknown action type does not."""
    schema = json.loads(cli("procedure", "schema")[1])
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    shipped = yaml.safe_load(SHIPPED.read_text("utf-8"))
    assert list(validator(schema).iter_errors(shipped)) == []
    broken = yaml.safe_load(
        write_copy(tmp_path / "mine.yaml", _unknown_action_type).read_text("utf-8")
    )
    assert list(validator(schema).iter_errors(broken)) != []


# -------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["procedure"], "the following arguments are required: ACTION"),
        (["procedure", "validate"], "the following arguments are required: FILE"),
        (["procedure", "show", "--site", "mars"], "invalid choice: 'mars'"),
        (["demo", "--site", "mars"], "invalid choice: 'mars'"),
        (["demo", "--kind", "reboot"], "invalid choice: 'reboot'"),
        (["procedure", "show", "--nope"], "unrecognized arguments: --nope"),
        (["demo", "--nope"], "unrecognized arguments: --nope"),
        (["demo", "--speed", "fast"], "'fast': give a number such as 60, or max"),
        (["demo", "--speed", "0"], "'0': the speed must be a positive number"),
        (["demo", "--speed", "-3"], "'-3': the speed must be a positive number"),
        (["demo", "--speed", "nan"], "'nan': the speed must be a positive number"),
        (["demo", "--speed", "inf"], "'inf': the speed must be a positive number"),
        (["run", "--simulate", "--speed", "max"], "a rehearsal has people in it: give a number"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad usage is refused by argparse with exit 2, saying what is wrong."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv, out=io.StringIO())
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: upgrade-bot" in err
    assert message in err


# ------------------------------------------------------------ demo configuration errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "meteor:MTDome:0"], "upgrade-bot: unknown fault 'meteor'; known: csc-fault"),
        (["--fault", "csc-stuck"], "upgrade-bot: csc-stuck needs a target: CSC (Name:index)"),
        (["--fault", "csc-stuck:MTDome"], "write the CSC as Name:index, e.g. MTDome:0"),
        (["--fault", "love-down:x"], "upgrade-bot: love-down takes no target (got 'x')"),
        (
            ["--fault", "csc-stuck:NoSuchCsc:0"],
            "upgrade-bot: csc-stuck:NoSuchCsc:0: summit has no CSC NoSuchCsc:0",
        ),
        (
            ["--site", "tts", "--fault", "bridge-stuck:MTCamera"],
            "upgrade-bot: bridge-stuck:MTCamera: tts has bridges for ATCamera, CCCamera only",
        ),
        (
            ["--fault", "app-degraded:nope"],
            "upgrade-bot: app-degraded:nope: no ArgoCD application nope at summit",
        ),
        (
            ["--fault", "hang:no-such-step"],
            "upgrade-bot: hang:no-such-step: not a step of this run with an outside operation",
        ),
        (
            ["--fault", "hang:announce-start"],
            "upgrade-bot: hang:announce-start: not a step of this run with an outside operation",
        ),
        (
            ["--fault", "hang:camera-startup"],  # a system restart's step, not a cycle upgrade's
            "upgrade-bot: hang:camera-startup: not a step of this run with an outside operation",
        ),
        (
            ["--site", "tts", "--fault", "hang:bare-metal-shutdown"],  # summit only
            "upgrade-bot: hang:bare-metal-shutdown: not a step of this run with an outside",
        ),
        (["--interactive", "--speed", "max"], "--interactive: a person decides, so give a"),
    ],
)
def test_demo_configuration_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A demo that cannot run as asked: exit 2, one clear message, and no run."""
    db = tmp_path / "demo.db"
    code, text = demo(*argv, "--db", str(db))
    assert code == 2
    assert text == ""
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert runs_in(db) == []


def test_demo_hang_names_the_steps_that_can_hang(capsys: pytest.CaptureFixture[str]) -> None:
    """``hang:`` on a step without an outside operation lists the steps that have one."""
    code, _ = demo("--fault", "hang:announce-start")
    assert code == 2
    err = capsys.readouterr().err
    listed = err[err.index("(one of: ") + len("(one of: ") : err.rindex(")")].split(", ")
    assert "kube-cleanup" in listed
    assert "sync-telescope" in listed
    assert "announce-start" not in listed
    assert "bare-metal-config" not in listed  # manual: nobody to hang
    assert "camera-startup" not in listed  # a system restart's step


def test_demo_with_a_broken_procedure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``demo --procedure`` with a broken file: exit 2, the file's problems, no run."""
    path = broken_copy(tmp_path / "broken.yaml")
    db = tmp_path / "demo.db"
    code, text = demo("--procedure", str(path), "--db", str(db))
    assert code == 2
    assert text == ""
    err = capsys.readouterr().err
    assert f"{path}: 1 problem(s):" in err
    assert "step 'shutdown-cscs', action.config.start_with: must begin with Watcher" in err
    assert runs_in(db) == []


# ------------------------------------------------------------------------------ demo runs


@dataclass(frozen=True)
class DemoRun:
    """A finished demo run: its exit code, its output, and its ``--db`` file."""

    code: int
    text: str
    db: Path


@pytest.fixture(scope="module")
def summit_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The default demo (summit, cycle upgrade, no fault), kept in a ``--db`` file."""
    db = tmp_path_factory.mktemp("summit") / "demo.db"
    code, text = demo("--speed", SPEED, "--db", str(db))
    return DemoRun(code, text, db)


@pytest.fixture(scope="module")
def rerun(summit_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``demo --db --new`` again, on a copy of the completed summit run's file."""
    db = copy_db(summit_run.db, tmp_path_factory.mktemp("rerun") / "demo.db")
    code, text = demo("--speed", SPEED, "--db", str(db), "--new")
    return DemoRun(code, text, db)


def run_id(text: str) -> str:
    """The id of the run a demo's output is about."""
    match = re.search(r"^\[\+0:00:00\] Run (\S+): ", text, re.MULTILINE)
    assert match, text[:500]
    return match.group(1)


@pytest.mark.slow
def test_demo_summit_cycle_upgrade(summit_run: DemoRun, procedure: Procedure) -> None:
    """The default demo completes: every announcement, every step, the summary table."""
    text = summit_run.text
    assert summit_run.code == 0
    assert text.startswith(
        "upgrade-bot demo: cycle-upgrade of summit (Summit) against the simulated "
        "observatory, as fast as the machine goes\n"
    )
    assert re.search(r"Run summit-\S+: cycle-upgrade of summit, 25 steps, led by demo-lead", text)
    for key in ANNOUNCEMENTS:
        assert f">> {key} -> #summit-announce" in text, key
    # The camera team's channel and group are configuration: unset, the site channel only.
    assert ">> camera-stage-2 -> #summit-announce  [Acknowledge]" in text
    assert text.index("── SHUTDOWN ──") < text.index("── CONFIGURATION ──")
    assert text.index("── DEPLOYMENT ──") < text.index("── VERIFICATION ──")
    assert "] Run completed.\n" in text
    assert f"Summary of run {run_id(text)}: cycle-upgrade of summit, completed in " in text
    rows = summary_rows(text)
    steps = procedure.for_run("summit", "cycle-upgrade")
    assert list(rows) == [step.id for step in steps if step.id != "prepull-images"]  # not enabled
    assert rows["preflight"][0] == "succeeded"
    assert rows["ess-controllers"][0] == "done_by_hand"  # a manual step, done by the lead
    assert rows["announce-nublado-available"][0] == "succeeded"
    assert "Per phase: shutdown " in text
    assert runs_in(summit_run.db) == [(run_id(text), "completed")]


@pytest.mark.slow
def test_demo_summit_does_not_wait_on_the_cameras_as_trouble(summit_run: DemoRun) -> None:
    """Stage 2 hands the cameras over: the watch ends as soon as the rest is up, naming them.

    The announcement says the control system is back but for the cameras; the summary too.
    """
    text = summit_run.text
    assert (
        "✓ verify-end-states: 150 CSCs: 140 STANDBY, 5 ENABLED (by themselves), "
        "3 waiting on the camera team; 2 ignored (left as they are)"
    ) in text
    assert "not yet: ATCamera" not in text
    assert summary_rows(text)["verify-end-states"][:2] == ["succeeded", "1"]
    cameras = "ATCamera:0, CCCamera:0, MTCamera:0"
    assert (
        "the cycle-upgrade is done. The control system is back but for the cameras, which the "
        f"camera team is still bringing up (Stage 2): {cameras}."
    ) in text
    said = "| At verify-end-states: Waiting on the camera team (Stage 2), not in trouble: "
    assert f"{said}{cameras}" in text


def test_demo_again_on_a_completed_run_shows_it(summit_run: DemoRun, tmp_path: Path) -> None:
    """``demo --db`` on a file whose run completed shows that run and its result; no new run."""
    db = copy_db(summit_run.db, tmp_path / "demo.db")
    code, text = demo("--speed", SPEED, "--db", str(db))
    first = run_id(summit_run.text)
    assert code == 0
    assert text.startswith(
        f"Run {first} (cycle-upgrade of summit) has ended: completed. Nothing to resume; "
        "`--new` starts another run.\n"
        f"Summary of run {first}: cycle-upgrade of summit, completed in "
    )
    assert "shutdown-cscs" in text
    assert "system_wide_shutdown.py" not in text  # nothing ran
    assert runs_in(db) == [(first, "completed")]


@pytest.mark.slow
def test_demo_new_on_a_completed_run_starts_another(summit_run: DemoRun, rerun: DemoRun) -> None:
    """``demo --db --new`` on a file whose run completed opens a new run; nothing is resumed."""
    assert rerun.code == 0
    first, second = run_id(summit_run.text), run_id(rerun.text)
    assert second != first
    assert "Resuming run" not in rerun.text
    assert "(resuming" not in rerun.text
    assert "25 steps, led by demo-lead" in rerun.text
    assert "] Run completed.\n" in rerun.text
    assert f"Summary of run {second}: cycle-upgrade of summit, completed in " in rerun.text
    assert runs_in(rerun.db) == sorted([(first, "completed"), (second, "completed")])


@pytest.mark.slow
def test_demo_again_previews_an_empty_cleanup_clearly(rerun: DemoRun) -> None:
    """The second run's Nublado clean-up has nothing left: the preview says so plainly."""
    nublado = rerun.text[rerun.text.index("⏸ 12/25 nublado-cleanup: ") :]
    assert "cluster yagan: nothing to delete" in nublado[: nublado.index("▶ 12/25")]
    assert "deleted nothing on yagan" in nublado
    assert not re.search(r"will delete .* in *$", rerun.text, re.MULTILINE)


@pytest.mark.slow
def test_demo_again_with_a_fault_applies_it(summit_run: DemoRun, tmp_path: Path) -> None:
    """A new run on a used ``--db`` file gets the faults given now: LOVE is down this time."""
    db = copy_db(summit_run.db, tmp_path / "demo.db")
    code, text = demo("--speed", SPEED, "--db", str(db), "--new", "--fault", "love-down")
    assert code == 0
    assert "(resuming" not in text
    assert "faults: love-down\n" in text
    assert "LOVE (summit-lsp.lsst.codes): POST cmd/: cannot connect" in text
    assert summary_rows(text)["shutdown-cscs"][0] == "done_by_hand"
    assert len(runs_in(db)) == 2


@pytest.mark.slow
def test_demo_tts_leaves_out_the_summit_only_steps(procedure: Procedure) -> None:
    """The Tucson test stand's demo completes without the summit-only steps."""
    code, text = demo("--speed", SPEED, "--site", "tts")
    assert code == 0
    assert "cycle-upgrade of tts (Tucson test stand)" in text
    assert re.search(r"Run tts-\S+: cycle-upgrade of tts, 20 steps", text)
    assert "] Run completed.\n" in text
    for step_id in SUMMIT_ONLY:
        assert step_id not in text, step_id
    steps = procedure.for_run("tts", "cycle-upgrade")
    assert list(summary_rows(text)) == [s.id for s in steps if s.id != "prepull-images"]
    assert ">> camera-stage-1 -> #tucson-teststand  [Acknowledge]" in text


@pytest.mark.slow
def test_demo_csc_stuck(capsys: pytest.CaptureFixture[str]) -> None:
    """A CSC that will not go OFFLINE is the normal path: nothing claimed done by hand.

    The shutdown ends naming ATMCS:0, the stragglers step proposes exactly it, is tried once
    more, and the lead goes on with it named; the ScriptQueues step accepts it and succeeds by
    the queues' heartbeats.
    """
    code, text = demo("--speed", SPEED, "--fault", "csc-stuck:ATMCS:0")
    assert code == 0
    assert "faults: csc-stuck:ATMCS:0\n" in text
    assert (
        "⚠ shutdown-cscs: done with 1 in trouble: system_wide_shutdown.py ended FAILED (A total "
        "of 1 components failed to transition to offline.): 1 CSC(s) did not go OFFLINE "
        "(ATMCS:0); the stragglers step proposes them"
    ) in text
    assert "only the CSCs the shutdown could not take down are still up" in text
    assert "· offline-stragglers: the bot reads the CSCs still up: ATMCS:0\n" in text
    assert "⚠ offline-stragglers: demo-lead goes on with 1 CSC(s) left up: ATMCS:0" in text
    assert "Left up by the lead's decision: ATMCS:0. Every other CSC is down." in text
    assert "left up by the lead: ATMCS:0" in text
    rows = summary_rows(text)
    by_hand = [step for step, row in rows.items() if row[0] == "done_by_hand"]
    assert by_hand == ["m2-closed-loop", "bare-metal-config", "ess-controllers"]  # manual ones
    assert rows["offline-stragglers"][0] == "done_with_issues"
    assert rows["scriptqueues-offline"][:2] == ["succeeded", "1"]
    assert "In trouble at offline-stragglers: ATMCS:0 left up by demo-lead" in text
    assert "] Run completed.\n" in text
    assert "Step failed" in capsys.readouterr().err  # the bot's own log, on stderr


@pytest.mark.slow
def test_demo_love_timeout_shows_the_queue_and_runs_the_script_once() -> None:
    """``love-timeout``: no answer to cmd_add, although queued; the retry follows it, once."""
    code, text = demo("--speed", SPEED, "--fault", "love-timeout")
    assert code == 0
    failed = text.index("✗ shutdown-cscs FAILED: ")
    assert "may have been queued on ScriptQueue 1" in text[failed : text.index("\n", failed)]
    seen = text.index(
        "system_wide_shutdown.py (script 100001) RUNNING is in the queue, queued by this step: "
        "Retry follows it, it does not add another."
    )
    retry = text.index("(retry by demo-lead), attempt 2")
    followed = text.index(
        "system_wide_shutdown.py (script 100001) RUNNING was queued by an earlier attempt: "
        "following it, not adding another"
    )
    assert failed < seen < retry < followed
    assert "(script 100002)" not in text[:followed]  # never queued twice
    assert summary_rows(text)["shutdown-cscs"][:2] == ["succeeded", "2"]
    assert "] Run completed.\n" in text


@pytest.mark.slow
def test_demo_hang_times_out_then_the_retry_succeeds(tmp_path: Path) -> None:
    """``hang:kube-cleanup``: the first attempt hangs to its timeout, the second succeeds.

    The clean-up deletes 153 objects, saving to SQLite as it goes: real time that a fast
    clock turns into simulated minutes. Its timeout is raised to 4h in a copy of the
    procedure, so that the retry has the time it needs.
    """

    def edit(data: dict[str, Any]) -> None:
        step_of(data, "kube-cleanup")["action"]["timeout"] = "4h"

    path = write_copy(tmp_path / "mine.yaml", edit)
    code, text = demo("--speed", SPEED, "--procedure", str(path), "--fault", "hang:kube-cleanup")
    assert code == 0
    timed_out = text.index("✗ kube-cleanup TIMED OUT: timed out after 4h")
    retry = text.index(
        "kube-cleanup: Clean up the Kubernetes deployments (cleanup_all) "
        "(retry by demo-lead), attempt 2"
    )
    deleted = text.index(
        "✓ kube-cleanup: deleted 7 Deployment, 1 HorizontalPodAutoscaler, 145 Job on yagan"
    )
    assert timed_out < retry < deleted
    assert text.count("✗ kube-cleanup TIMED OUT") == 1
    assert summary_rows(text)["kube-cleanup"][:2] == ["succeeded", "2"]


@pytest.mark.slow
def test_demo_app_degraded() -> None:
    """An ArgoCD application that ends Degraded fails the telescope sync, naming it."""
    code, text = demo("--speed", SPEED, "--fault", "app-degraded:auxtel")
    assert code == 0
    assert "✗ sync-telescope FAILED: ArgoCD: 1 of 10 app(s) not healthy: auxtel: Degraded" in text
    assert summary_rows(text)["sync-telescope"][:2] == ["done_by_hand", "2"]
    assert summary_rows(text)["sync-nublado"][0] == "succeeded"


@pytest.mark.slow
def test_demo_love_down() -> None:
    """LOVE unreachable: nothing was queued (no "maybe"), and the Nublado cell that adds it."""
    code, text = demo("--speed", SPEED, "--fault", "love-down")
    assert code == 0
    assert "✗ preflight FAILED: pre-flight: 1 of 6 systems unreachable | LOVE: " in text
    failed = text.index("✗ shutdown-cscs FAILED: ")
    line = text[failed : text.index("\n", failed)]
    assert "LOVE (summit-lsp.lsst.codes): POST cmd/: cannot connect" in line
    assert "Nothing reached LOVE, so nothing was queued" in line
    assert "may have been queued" not in text
    cell = text[failed : text.index("print(", failed)]
    assert 'queue = salobj.Remote(domain, "ScriptQueue", index=1)' in cell
    assert "path='system_wide_shutdown.py'" in cell
    assert "start_with: [Watcher]" in cell
    assert summary_rows(text)["shutdown-cscs"][0] == "done_by_hand"


@pytest.mark.slow
def test_demo_wrong_cluster() -> None:
    """Credentials for another site's cluster: the clean-ups refuse, naming both clusters."""
    code, text = demo("--speed", SPEED, "--fault", "wrong-cluster")
    assert code == 0
    refusal = (
        "Kubernetes: refusing to clean up: this API server is the 'pillan' cluster, "
        "not summit's 'yagan'"
    )
    assert f"✗ kube-cleanup FAILED: {refusal}" in text
    assert f"✗ nublado-cleanup FAILED: {refusal}" in text
    assert "✓ kube-cleanup: deleted" not in text
    assert summary_rows(text)["kube-cleanup"][:2] == ["done_by_hand", "2"]


@pytest.mark.slow
def test_demo_bridge_stuck() -> None:
    """A camera bridge that will not stop: the step fails naming the host and unit."""
    code, text = demo("--speed", SPEED, "--fault", "bridge-stuck:ATCamera")
    assert code == 0
    assert (
        "✗ stop-camera-bridges FAILED: SSH: 1 of 3 unit(s) not inactive after stop | "
        "auxtel-mcm.cp.lsst.org:ats-ocs-bridge.service: active"
    ) in text
    assert summary_rows(text)["stop-camera-bridges"][:2] == ["done_by_hand", "2"]


def test_run_help_shows_the_rehearsal_speed(capsys: pytest.CaptureFixture[str]) -> None:
    """``run --help`` documents ``--speed N`` with ``--simulate``; alone it is refused."""
    with pytest.raises(SystemExit):
        main(["run", "--help"], out=io.StringIO())
    assert "--speed N" in capsys.readouterr().out
    code = main(["run", "--speed", "60"], out=io.StringIO())
    assert code == 2
    assert "--speed goes with --simulate" in capsys.readouterr().err


def same_run(text: str) -> str:
    """A demo's output without what differs between two runs of it (its id, its speed)."""
    text = re.sub(r"\b(summit|tts|bts)-\d{8}-\d{6}\b", "RUN", text)
    return re.sub(r"at most x\S+ real time|as fast as the machine goes", "SPEED", text)


@pytest.mark.slow
def test_demo_outcome_is_the_same_at_any_speed() -> None:
    """Bounded at x5000 or as fast as it goes: the same output, line for line, no timeout."""
    fast_code, fast = demo("--speed", "max", "--site", "tts")
    bound_code, bound = demo("--speed", "5000", "--site", "tts")
    assert (fast_code, bound_code) == (0, 0)
    assert "TIMED OUT" not in fast
    assert same_run(fast) == same_run(bound)


@pytest.mark.slow
def test_demo_outcome_is_the_same_on_a_busy_machine() -> None:
    """Every core kept busy by other processes: the same output, line for line, no timeout."""
    idle_code, idle = demo("--speed", "max", "--site", "tts")
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])  # our own
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        busy_code, busy = demo("--speed", "max", "--site", "tts", limit=4 * DEMO_LIMIT)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert (idle_code, busy_code) == (0, 0)
    assert "TIMED OUT" not in busy
    assert same_run(idle) == same_run(busy)
