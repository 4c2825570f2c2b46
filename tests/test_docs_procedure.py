"""The examples of docs/procedure.md load, and together they show every action type."""

from __future__ import annotations

import copy
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from state.actions import ACTION_TAGS, ACTION_TYPES, RunSetSummaryState
from state.names import PHASES
from state.procedure import Procedure, Step, _problems_from, parse_procedure
from state.rules import _whole_file

DOC = Path(__file__).resolve().parent.parent / "docs" / "procedure.md"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```yaml[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def yaml_blocks() -> list[str]:
    """The text of every fenced yaml block of the page, in order."""
    return [textwrap.dedent(m["body"]) for m in FENCE.finditer(DOC.read_text("utf-8"))]


BLOCKS = yaml_blocks()
PARSED: list[Any] = [yaml.safe_load(block) for block in BLOCKS]
STEP_EXAMPLES = [raw for raw in PARSED if isinstance(raw, dict) and "steps" not in raw]
PROCEDURE_EXAMPLES = [
    (n, block)
    for n, (block, raw) in enumerate(zip(BLOCKS, PARSED, strict=True), 1)
    if isinstance(raw, dict) and "steps" in raw
]


def step_problems(raw: dict[str, Any]) -> list[str]:
    """What the loader says of one example step, with the rules that judge a step alone.

    A one-step procedure through ``parse_procedure`` would also meet the per-run rules, which
    judge a step among the others: a lone ``system_wide_shutdown.py`` step is refused because
    no ScriptQueues step follows it, which says nothing about the example. So the step goes
    through the same model and the same error locating as a file, then through the whole-file
    rules, which for a single step are exactly the step rules (approval, summit-only systems,
    the Watcher, sasquatch).
    """
    wrapped = {"name": "docs/procedure.md example", "steps": [raw]}
    try:
        procedure = Procedure.model_validate(wrapped)
    except ValidationError as e:
        return [str(problem) for problem in _problems_from(e, wrapped)]
    return [str(problem) for problem in _whole_file(procedure.steps, PHASES)]


def example_steps() -> list[Step]:
    """The example steps the loader accepts (a broken one fails its own test, shows no type)."""
    return [Step.model_validate(raw) for raw in STEP_EXAMPLES if not step_problems(raw)]


def test_every_yaml_block_is_a_step_or_a_procedure() -> None:
    """Each yaml block of the page is one step mapping, or a whole procedure file."""
    assert len(BLOCKS) >= len(ACTION_TAGS)
    for block, raw in zip(BLOCKS, PARSED, strict=True):
        assert isinstance(raw, dict), block
        if "steps" not in raw:
            assert {"id", "title", "phase", "action"} <= set(raw), block


@pytest.mark.parametrize("raw", STEP_EXAMPLES, ids=[str(raw.get("id")) for raw in STEP_EXAMPLES])
def test_example_step_is_valid(raw: dict[str, Any]) -> None:
    """The example is a valid step that breaks none of the step rules."""
    assert step_problems(raw) == []


@pytest.mark.parametrize(("number", "text"), PROCEDURE_EXAMPLES)
def test_example_procedure_loads(number: int, text: str) -> None:
    """A whole-file example passes the real loader, every rule included."""
    procedure = parse_procedure(text, f"docs/procedure.md, yaml block {number}")
    assert procedure.steps


def test_example_ids_are_unique() -> None:
    """No two step examples share an id, so a failure names one example."""
    ids = [raw["id"] for raw in STEP_EXAMPLES]
    assert len(ids) == len(set(ids))


def test_every_action_type_has_an_example() -> None:
    """Every type of the registry is shown by at least one example step."""
    shown = {step.action.type for step in example_steps()}
    assert set(ACTION_TYPES) - shown == set()


def test_every_action_tag_has_an_example() -> None:
    """Every tag (love.run_script split by known script) is shown by an example step."""
    classes = {type(step.action) for step in example_steps()}
    missing = {tag for tag, model in ACTION_TAGS.items() if model not in classes}
    assert missing == set()


def test_set_summary_state_is_shown_with_data_and_with_targets() -> None:
    """Both ways of naming set_summary_state.py's CSCs have an example."""
    configs = [
        step.action.config
        for step in example_steps()
        if isinstance(step.action, RunSetSummaryState)
    ]
    assert any(config.data for config in configs)
    assert any(config.targets is not None for config in configs)


def test_checker_refuses_broken_examples() -> None:
    """The check above is not blind: a misspelt key or a dropped approval is reported."""
    changing = next(
        raw for raw in STEP_EXAMPLES if raw.get("needs_approval") and "timeout" in raw["action"]
    )
    misspelt = copy.deepcopy(changing)
    misspelt["action"]["timout"] = misspelt["action"].pop("timeout")
    assert f"step {changing['id']!r}, action.timout: unknown field" in step_problems(misspelt)
    unapproved = copy.deepcopy(changing)
    del unapproved["needs_approval"]
    assert any(", needs_approval: " in problem for problem in step_problems(unapproved))
    held = next(raw for raw in STEP_EXAMPLES if "hold" in raw["action"])
    unasked = copy.deepcopy(held)
    del unasked["needs_approval"]
    assert any("waits for the lead's choice" in problem for problem in step_problems(unasked))
