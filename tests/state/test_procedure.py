"""The procedure loader: the shipped default, every way a file is refused, and the schema."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.procedures import load_procedure
from state.actions import ACTION_TYPES, Announce
from state.names import PHASES, RUN_KINDS, SITES
from state.problems import Problem
from state.procedure import Procedure, ProcedureError, procedure_schema

DEFAULT_PATH = Path(str(resources.files("bot.config").joinpath("data", "procedure.yaml")))
SUMMIT_ONLY = {
    "m2-closed-loop",
    "bare-metal-shutdown",
    "bare-metal-config",
    "ess-controllers",
    "bare-metal-startup",
}


@pytest.fixture(scope="module")
def default() -> Procedure:
    """The shipped procedure, loaded once."""
    return load_procedure()


def run_ids(procedure: Procedure, site: str, kind: str) -> list[str]:
    """The ids of the steps a run of this site and kind walks, in order."""
    return [step.id for step in procedure.for_run(site, kind)]  # type: ignore[arg-type]


# ------------------------------------------------------------------------ the shipped default


def test_default_loads(default: Procedure) -> None:
    """The built-in procedure loads, the same from the package as from its path."""
    assert default.name == "Deploying the Upgrade"
    assert default.version == 1
    assert len(default.steps) == 29
    assert load_procedure(DEFAULT_PATH) == default


def test_default_has_the_four_phases_in_order(default: Procedure) -> None:
    """The phases of the file, in order, are shutdown, configuration, deployment, verification."""
    seen = list(dict.fromkeys(step.phase for step in default.steps))
    assert seen == list(PHASES) == ["shutdown", "configuration", "deployment", "verification"]
    indices = [PHASES.index(step.phase) for step in default.steps]
    assert indices == sorted(indices)


@pytest.mark.parametrize(
    ("site", "kind", "count"),
    [
        ("summit", "cycle-upgrade", 26),
        ("summit", "system-restart", 27),
        ("tts", "cycle-upgrade", 21),
        ("tts", "system-restart", 22),
        ("bts", "cycle-upgrade", 21),
        ("bts", "system-restart", 22),
    ],
)
def test_steps_per_run(default: Procedure, site: str, kind: str, count: int) -> None:
    """Each site and kind walks the number of steps the page gives it."""
    assert len(default.for_run(site, kind)) == count  # type: ignore[arg-type]


def test_summit_only_steps(default: Procedure) -> None:
    """M2, bare metal and the ESS controllers are the summit's only, not the test stands'."""
    assert {step.id for step in default.steps if step.sites == ("summit",)} == SUMMIT_ONLY
    for kind in RUN_KINDS:
        assert SUMMIT_ONLY.issubset(run_ids(default, "summit", kind))
        for site in ("tts", "bts"):
            assert SUMMIT_ONLY.isdisjoint(run_ids(default, site, kind))


def test_camera_startup_only_in_a_system_restart(default: Procedure) -> None:
    """We start the camera services in a system restart; the camera team does in a cycle.

    Ours in three stages (bridges, CCS, enterControl); theirs from the Stage 2 announcement.
    """
    stages = {"camera-startup", "camera-ccs-available", "camera-enter-control"}
    for site in SITES:
        assert stages <= set(run_ids(default, site, "system-restart"))
        assert stages.isdisjoint(run_ids(default, site, "cycle-upgrade"))
    handing = [
        s.id
        for s in default.steps
        if isinstance(s.action, Announce) and s.action.hands_over_cameras
    ]
    assert handing == ["announce-camera-stage-2"]


def test_announcements_where_the_page_puts_them(default: Procedure) -> None:
    """Start and Nublado back in every run; the camera's Stage 1 and 2 in a cycle upgrade."""
    for site in SITES:
        for kind, keys in [
            (
                "cycle-upgrade",
                ["nublado-going-down", "camera-stage-1", "camera-stage-2", "nublado-available"],
            ),
            ("system-restart", ["nublado-going-down", "nublado-available"]),
        ]:
            steps = default.for_run(site, kind)  # type: ignore[arg-type]
            made = [s.action.key for s in steps if isinstance(s.action, Announce)]
            assert made == keys, (site, kind)
        ids = run_ids(default, site, "cycle-upgrade")
        assert ids.index("stop-camera-bridges") < ids.index("announce-camera-stage-1")
        assert ids.index("sync-telescope") < ids.index("announce-camera-stage-2")
        assert ids[-1] == "announce-nublado-available"


# ------------------------------------------------------------------------ refused files

BASE: dict[str, Any] = {
    "name": "Test procedure",
    "waived": {
        "shutdown-script": "a test's short procedure",
        "offline-check": "a test's short procedure",
        "phalanx-pr": "a test's short procedure",
        "scriptqueues-last": "a test's short procedure",
    },
    "steps": [
        {
            "id": "preflight",
            "title": "Pre-flight check",
            "phase": "shutdown",
            "action": {"type": "preflight.check", "timeout": "2m"},
        },
        {
            "id": "kube-cleanup",
            "title": "Clean up Kubernetes",
            "phase": "shutdown",
            "needs_approval": True,
            "action": {"type": "kube.cleanup", "scope": "all", "timeout": "10m"},
        },
        {
            "id": "watch",
            "title": "Watch the CSCs come up",
            "phase": "verification",
            "action": {"type": "efd.wait_for_states", "expect": "end-states", "deadline": "30m"},
        },
    ],
}

Mutation = Callable[[dict[str, Any]], object]


def write(tmp_path: Path, raw: object, name: str = "procedure.yaml") -> Path:
    """Write a procedure file and return its path."""
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False))
    return path


def refused(path: Path) -> ProcedureError:
    """The error of loading a file that must be refused."""
    with pytest.raises(ProcedureError) as info:
        load_procedure(path)
    return info.value


def mutated(change: Mutation) -> dict[str, Any]:
    """BASE with one change."""
    raw = copy.deepcopy(BASE)
    change(raw)
    return raw


def kube(raw: dict[str, Any]) -> dict[str, Any]:
    """The kube-cleanup step of a raw procedure."""
    found: dict[str, Any] = raw["steps"][1]
    return found


def kube_action(raw: dict[str, Any]) -> dict[str, Any]:
    """The kube-cleanup step's action."""
    found: dict[str, Any] = kube(raw)["action"]
    return found


def test_base_is_valid(tmp_path: Path) -> None:
    """The file the cases below break is valid as it is."""
    assert [s.id for s in load_procedure(write(tmp_path, BASE)).steps] == [
        "preflight",
        "kube-cleanup",
        "watch",
    ]


SET_SUMMARY_STATE = {
    "type": "love.run_script",
    "script": "set_summary_state.py",
    "timeout": "5m",
    "config": {"targets": "stragglers", "state": "OFFLINE"},
}

STEP_CASES: list[tuple[str, Mutation, str, str, list[str]]] = [
    (
        "unknown action type",
        lambda r: kube_action(r).update(type="kube.restart"),
        "kube-cleanup",
        "action",
        ["unknown action type", "known:", "kube.cleanup", "love.run_script"],
    ),
    (
        "param of the wrong type",
        lambda r: kube_action(r).update(daemonsets="maybe"),
        "kube-cleanup",
        "action.daemonsets",
        ["valid boolean"],
    ),
    (
        "param not among its values",
        lambda r: kube_action(r).update(scope="everything"),
        "kube-cleanup",
        "action.scope",
        ["'all' or 'nublado'"],
    ),
    (
        "unknown action field",
        lambda r: kube_action(r).update(force=True),
        "kube-cleanup",
        "action.force",
        ["unknown field"],
    ),
    (
        "unknown step field",
        lambda r: kube(r).update(approve=True),
        "kube-cleanup",
        "approve",
        ["unknown field"],
    ),
    (
        "unknown field of a known script's config",
        lambda r: kube(r).update(
            action={
                **SET_SUMMARY_STATE,
                "config": {"targets": "stragglers", "state": "OFFLINE", "mute": True},
            }
        ),
        "kube-cleanup",
        "action.config.mute",
        ["unknown field"],
    ),
    (
        "known script's config with data and targets",
        lambda r: kube(r).update(
            action={
                **SET_SUMMARY_STATE,
                "config": {
                    "targets": "stragglers",
                    "state": "OFFLINE",
                    "data": [["ESS:1", "OFFLINE"]],
                },
            }
        ),
        "kube-cleanup",
        "action.config",
        ["either data", "or targets"],
    ),
    (
        "bad duration string",
        lambda r: kube_action(r).update(timeout="ten minutes"),
        "kube-cleanup",
        "action.timeout",
        ["not a duration", "'ten minutes'", "10m"],
    ),
    (
        "zero duration",
        lambda r: kube_action(r).update(timeout="0s"),
        "kube-cleanup",
        "action.timeout",
        ["longer than 0s"],
    ),
    (
        "bad deadline",
        lambda r: r["steps"][2]["action"].update(deadline="30 mins"),
        "watch",
        "action.deadline",
        ["not a duration"],
    ),
    (
        "timeout on a watch",
        lambda r: r["steps"][2]["action"].update(timeout="5m"),
        "watch",
        "action.timeout",
        ["unknown field"],
    ),
    (
        "repeated site",
        lambda r: kube(r).update(sites=["tts", "tts"]),
        "kube-cleanup",
        "sites",
        ["repeated entries"],
    ),
    (
        "unknown phase",
        lambda r: kube(r).update(phase="cleanup"),
        "kube-cleanup",
        "phase",
        ["'shutdown', 'configuration', 'deployment' or 'verification'"],
    ),
    (
        "missing title",
        lambda r: kube(r).pop("title"),
        "kube-cleanup",
        "title",
        ["required but missing"],
    ),
    (
        "missing action",
        lambda r: kube(r).pop("action"),
        "kube-cleanup",
        "action",
        ["required but missing"],
    ),
    (
        "missing action param",
        lambda r: kube_action(r).pop("timeout"),
        "kube-cleanup",
        "action.timeout",
        ["required but missing"],
    ),
    (
        "missing id: the step is named by its position",
        lambda r: kube(r).pop("id"),
        "#2",
        "id",
        ["required but missing"],
    ),
    (
        "id not a slug",
        lambda r: kube(r).update(id="Kube Cleanup"),
        "Kube Cleanup",
        "id",
        ["pattern"],
    ),
    (
        "duplicate ids",
        lambda r: r["steps"][2].update(id="kube-cleanup"),
        "kube-cleanup",
        "id",
        ["used by 2 steps", "unique"],
    ),
]


@pytest.mark.parametrize(
    ("change", "step", "field", "words"),
    [case[1:] for case in STEP_CASES],
    ids=[case[0] for case in STEP_CASES],
)
def test_step_error_names_file_step_and_field(
    tmp_path: Path, change: Mutation, step: str, field: str, words: list[str]
) -> None:
    """One mistake in a step: one problem, naming the file, the step id and the field."""
    path = write(tmp_path, mutated(change))
    error = refused(path)
    assert error.source == str(path)
    assert len(error.problems) == 1, error.problems
    (problem,) = error.problems
    assert (problem.step, problem.field) == (step, field)
    for word in words:
        assert word in problem.message
    text = str(error)
    assert text.startswith(f"{path}: 1 problem(s):\n")
    assert f"  - step {step!r}, {field}: {problem.message}" in text


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("sites", "moon", "'summit', 'tts' or 'bts'"),
        ("kinds", "reboot", "'cycle-upgrade' or 'system-restart'"),
    ],
)
def test_unknown_site_or_kind(tmp_path: Path, field: str, value: str, allowed: str) -> None:
    """An unknown site or kind is named by step and by its place in the list."""
    path = write(tmp_path, mutated(lambda r: kube(r).update({field: [value]})))
    error = refused(path)
    assert error.problems[0] == Problem("kube-cleanup", f"{field}.0", f"Input should be {allowed}")
    assert f"{path}: " in str(error)
    assert f"step 'kube-cleanup', {field}.0: Input should be {allowed}" in str(error)
    # pydantic adds that the list, less the bad entry, is empty: same step, same field.
    assert all(p.step == "kube-cleanup" and p.field.startswith(field) for p in error.problems)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda r: r.pop("name"), "name", ["required but missing"]),
        (lambda r: r.update(author="me"), "author", ["unknown field"]),
        (lambda r: r.update(version=2), "version", ["Input should be 1"]),
        (lambda r: r.update(steps=[]), "steps", ["at least 1 item"]),
    ],
    ids=["missing name", "unknown top-level field", "unknown version", "no steps"],
)
def test_top_level_error_names_file_and_field(
    tmp_path: Path, change: Mutation, field: str, words: list[str]
) -> None:
    """A mistake outside the steps is named as the procedure's, with its field."""
    path = write(tmp_path, mutated(change))
    error = refused(path)
    assert len(error.problems) == 1
    (problem,) = error.problems
    assert (problem.step, problem.field) == (None, field)
    for word in words:
        assert word in problem.message
    assert f"{path}: 1 problem(s):\n  - procedure, {field}: " in str(error)


def test_every_problem_at_once_in_file_order(tmp_path: Path) -> None:
    """Two broken steps give two problems, in file order, so one pass fixes both."""

    def change(raw: dict[str, Any]) -> None:
        raw["steps"][0]["action"]["timeout"] = "soon"
        raw["steps"][2]["phase"] = "aftermath"

    error = refused(write(tmp_path, mutated(change)))
    assert [(p.step, p.field) for p in error.problems] == [
        ("preflight", "action.timeout"),
        ("watch", "phase"),
    ]
    assert str(error).count("\n  - ") == 2


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML is refused naming the file and where in it."""
    text = "name: Test\nsteps:\n  - id: a\n    title: [unclosed\n    phase: shutdown\n"
    path = write(tmp_path, text, "broken.yaml")
    error = refused(path)
    assert len(error.problems) == 1
    assert error.problems[0].step is None
    assert error.problems[0].message.startswith("not valid YAML: ")
    text = str(error)
    assert text.startswith(f"{path}: 1 problem(s):\n  - procedure: not valid YAML")
    assert re.search(r"line 4, column \d+", text)


def test_file_not_found(tmp_path: Path) -> None:
    """A missing file is refused naming it and why."""
    path = tmp_path / "nowhere.yaml"
    error = refused(path)
    assert error.source == str(path)
    assert error.problems == (Problem(None, "", "cannot read: No such file or directory"),)
    assert (
        str(error)
        == f"{path}: 1 problem(s):\n  - procedure: cannot read: No such file or directory"
    )


@pytest.mark.parametrize(
    "text", ["- id: a\n- id: b\n", "just some text\n", ""], ids=["list", "scalar", "empty"]
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str) -> None:
    """A file whose top level is not a mapping is refused, naming the file."""
    path = write(tmp_path, text)
    error = refused(path)
    assert error.problems == (Problem(None, "", "expected a mapping with name and steps"),)
    assert (
        str(error)
        == f"{path}: 1 problem(s):\n  - procedure: expected a mapping with name and steps"
    )


# ------------------------------------------------------------------------ the schema


def type_consts(schema: dict[str, Any], key: str) -> set[str]:
    """Every ``const`` of property ``key`` among the schema's definitions."""
    return {
        definition["properties"][key]["const"]
        for definition in schema["$defs"].values()
        if "const" in definition.get("properties", {}).get(key, {})
    }


def test_schema_describes_the_file() -> None:
    """The schema is JSON Schema with the file's fields and every action type."""
    schema = procedure_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"version", "name", "steps", "waived"}
    assert schema["additionalProperties"] is False
    step = schema["$defs"]["Step"]
    assert set(step["required"]) == {"id", "title", "phase", "action"}
    assert step["properties"]["phase"]["enum"] == list(PHASES)
    assert type_consts(schema, "type") == set(ACTION_TYPES)
    assert {"system_wide_shutdown.py", "set_summary_state.py"} <= type_consts(schema, "script")


def _accepts(rule: dict[str, Any], value: object) -> bool:
    """Whether a property's const, enum, pattern and not accept the value."""
    if "const" in rule and value != rule["const"]:
        return False
    if "enum" in rule and value not in rule["enum"]:
        return False
    if "pattern" in rule and not (isinstance(value, str) and re.search(rule["pattern"], value)):
        return False
    return not ("not" in rule and _accepts(rule["not"], value))


def test_schema_tells_each_default_action_apart() -> None:
    """Each action of the default matches one branch of the action's oneOf (by type, script)."""
    schema = procedure_schema()
    union = schema["$defs"]["Step"]["properties"]["action"]
    if "oneOf" not in union:  # anyOf or another form: several matches are allowed
        return
    raw = yaml.safe_load(DEFAULT_PATH.read_text("utf-8"))
    ambiguous = {}
    for step in raw["steps"]:
        action = step["action"]
        matched = []
        for branch in union["oneOf"]:
            definition = schema["$defs"][branch["$ref"].rsplit("/", 1)[1]]
            rules = definition["properties"]
            if set(definition.get("required", [])) <= set(action) and all(
                _accepts(rules[key], action[key]) for key in ("type", "script") if key in action
            ):
                matched.append(definition["title"])
        if len(matched) != 1:
            ambiguous[step["id"]] = matched
    assert ambiguous == {}


def test_default_validates_against_schema() -> None:
    """The shipped procedure is valid against the published schema (with jsonschema)."""
    jsonschema = pytest.importorskip("jsonschema")
    raw = yaml.safe_load(DEFAULT_PATH.read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(procedure_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(raw)]
    assert errors == []
