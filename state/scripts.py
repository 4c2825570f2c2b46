"""The configurations of the two standard scripts the page uses, as their schemas define them.

``system_wide_shutdown.py`` and ``set_summary_state.py`` (lsst-ts/ts_standardscripts) refuse
unknown keys (``additionalProperties: false``), so these models do too: a misspelt key in a
procedure file is reported when the file is loaded, not by the script on the night.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SummaryState = Literal["OFFLINE", "STANDBY", "DISABLED", "ENABLED"]
"""The states ``set_summary_state.py`` accepts (it refuses FAULT)."""

CSC_REF = re.compile(r"^[A-Z][A-Za-z0-9_]*(:(\d+|\*))?$")
"""``Name``, ``Name:index`` or ``Name:*`` (every running index), as set_summary_state.py takes."""

CSC_INSTANCE = re.compile(r"^[A-Z][A-Za-z0-9_]*:\d+$")
"""One running instance, ``Name:index`` (as the EFD names what beats)."""


class SystemWideShutdownConfig(BaseModel):
    """``system_wide_shutdown.py``'s configuration (ts_standardscripts).

    ``user`` and ``reason`` are filled in from the run when the script is queued.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_with: tuple[str, ...] = Field(default=(), description="CSCs sent OFFLINE first.")
    end_with: tuple[str, ...] = Field(default=(), description="CSCs sent OFFLINE last.")
    ignore: tuple[str, ...] = Field(
        default=(), description="CSCs left as they are, added to the site's configured ignore list."
    )


SummaryStateEntry = tuple[str, SummaryState] | tuple[str, SummaryState, str]


class SetSummaryStateConfig(BaseModel):
    """``set_summary_state.py``'s configuration: explicit ``data`` or symbolic ``targets``.

    Targets are resolved at run time: the stragglers the EFD still sees, the site's ScriptQueues,
    the CSCs the site keeps ENABLED.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: tuple[SummaryStateEntry, ...] = Field(
        default=(),
        description='Explicit entries: ["CSC[:index]", STATE] or with a config override.',
    )
    targets: Literal["stragglers", "scriptqueues", "keep-enabled"] | None = Field(
        default=None, description="Resolved when the step runs, from the EFD or the site's config."
    )
    state: SummaryState | None = Field(default=None, description="The state sent to ``targets``.")
    mute_alarms: bool = True
    mute_duration: float = Field(default=30.0, gt=0, description="Minutes.")

    @field_validator("data")
    @classmethod
    def _csc_refs(cls, value: tuple[SummaryStateEntry, ...]) -> tuple[SummaryStateEntry, ...]:
        for entry in value:
            if not CSC_REF.match(entry[0]):
                raise ValueError(
                    f"{entry[0]!r} is not a CSC reference (Name, Name:index or Name:*)"
                )
        return value

    @model_validator(mode="after")
    def _data_xor_targets(self) -> SetSummaryStateConfig:
        if bool(self.data) == (self.targets is not None):
            raise ValueError("give either data (explicit entries) or targets, not both or neither")
        if (self.targets is None) != (self.state is None):
            raise ValueError("targets and state go together")
        return self

    def states_sent(self) -> set[str]:
        """Every state this configuration sends."""
        return {self.state} if self.state else {entry[1] for entry in self.data}

    def only_scriptqueues(self) -> bool:
        """Whether every target is a ScriptQueue."""
        if self.targets is not None:
            return self.targets == "scriptqueues"
        return all(entry[0].split(":")[0] == "ScriptQueue" for entry in self.data)
