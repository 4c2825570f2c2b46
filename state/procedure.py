"""The procedure as data: steps in four phases, parsed from YAML text and checked before use.

The T&S team edits the procedure every cycle; they should not need Python for it. So the file
is plain YAML, its schema is published (``upgrade-bot procedure schema``) for editors, and a
broken file is refused with every problem at once, each naming the file, the step id and the
field, so the author can fix them in one pass. Reading the file is the caller's (the
configuration, ``bot.config.procedures``): this module turns text into a checked model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from state.actions import Action
from state.names import RUN_KINDS, SITES, Phase, RunKind, Site
from state.page_rules import Requirement
from state.problems import Problem
from state.rules import check_rules


class Step(BaseModel):
    """One step of the procedure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="Unique, stable.")
    title: str = Field(min_length=1, max_length=150)
    phase: Phase
    sites: tuple[Site, ...] = Field(default=SITES, min_length=1)
    kinds: tuple[RunKind, ...] = Field(default=RUN_KINDS, min_length=1)
    needs_approval: bool = Field(
        default=False,
        description="The lead approves before it runs (required if it changes things).",
    )
    instructions: str = Field(default="", description="Markdown shown with the step.")
    action: Action

    @field_validator("sites", "kinds")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("repeated entries")
        return value

    def applies_to(self, site: Site, kind: RunKind) -> bool:
        """Whether a run of this site and kind includes the step."""
        return site in self.sites and kind in self.kinds


class Procedure(BaseModel):
    """The whole procedure: steps in order. Load it with :func:`load_procedure`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(default=1, description="The file format's version.")
    name: str = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)
    waived: dict[Requirement, str] = Field(
        default_factory=dict,
        description="Steps the page requires that this procedure leaves out, each with why "
        "(every run shows it): shutdown-script, offline-check, scriptqueues-last, phalanx-pr, "
        "end-state-watch.",
    )

    @field_validator("waived")
    @classmethod
    def _reasons(cls, value: dict[Requirement, str]) -> dict[Requirement, str]:
        empty = [key for key, reason in value.items() if not reason.strip()]
        if empty:
            raise ValueError(f"say why {', '.join(empty)} is waived: the reason is shown")
        return value

    def for_run(self, site: Site, kind: RunKind) -> tuple[Step, ...]:
        """The steps a run of this site and kind walks, in order."""
        return tuple(step for step in self.steps if step.applies_to(site, kind))


class ProcedureError(ValueError):
    """A procedure file that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        """Keep the problems for tests and tools; the message lists them all."""
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s):\n{lines}")


def _step_ids(raw: object) -> list[str | None]:
    steps = raw.get("steps") if isinstance(raw, dict) else None
    if not isinstance(steps, list):
        return []
    return [
        s.get("id") if isinstance(s, dict) and isinstance(s.get("id"), str) else None for s in steps
    ]


def _problems_from(error: ValidationError, raw: object) -> list[Problem]:
    """Name each pydantic error by step id and dotted field, dropping union tags from the path."""
    ids = _step_ids(raw)
    problems = []
    for item in error.errors(include_url=False):
        loc = list(item["loc"])
        step: str | None = None
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):  # noqa: PLR2004  # (steps, index, ...)
            index = loc[1]
            step = ids[index] if index < len(ids) and ids[index] else f"#{index + 1}"
            loc = loc[2:]
            if len(loc) >= 2 and loc[0] == "action" and isinstance(loc[1], str):  # noqa: PLR2004
                loc = [loc[0], *loc[2:]]  # loc[1] is the action's union tag
        field = ".".join(str(part) for part in loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "required but missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(Problem(step, field, message))
    return problems


def parse_procedure(text: str, source: str) -> Procedure:
    """Parse and check a procedure from YAML text; ``source`` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ProcedureError(source, [Problem(None, "", f"not valid YAML: {e}")]) from e
    if not isinstance(raw, dict):
        raise ProcedureError(source, [Problem(None, "", "expected a mapping with name and steps")])
    try:
        procedure = Procedure.model_validate(raw)
    except ValidationError as e:
        raise ProcedureError(source, _problems_from(e, raw)) from e
    problems = check_rules(procedure)
    if problems:
        raise ProcedureError(source, problems)
    return procedure


def procedure_schema() -> dict[str, Any]:
    """The JSON Schema of the procedure file, for editors."""
    schema = Procedure.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rubin upgrade-bot procedure"
    return schema
