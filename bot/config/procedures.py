"""Reading a procedure file: the one shipped with the bot, or a team's own copy.

The model and its rules are pure (:mod:`state.procedure`); reading the file is here, at the
edge, so that an unreadable file is reported like any other problem of the procedure.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from state.problems import Problem
from state.procedure import Procedure, ProcedureError, parse_procedure

DEFAULT_PROCEDURE = "procedure.yaml"
"""The procedure shipped in the package (``bot/config/data/procedure.yaml``)."""


def load_procedure(path: Path | None = None) -> Procedure:
    """Load the procedure from ``path``, or the one shipped with the package."""
    if path is None:
        data = resources.files("bot.config").joinpath("data", DEFAULT_PROCEDURE)
        return parse_procedure(data.read_text("utf-8"), f"(built-in) {DEFAULT_PROCEDURE}")
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise ProcedureError(str(path), [Problem(None, "", f"cannot read: {e.strerror}")]) from e
    return parse_procedure(text, str(path))
