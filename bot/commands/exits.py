"""The exit codes of the commands, and the errors that are the user's to fix.

0 success; 1 the thing checked is not right; 2 usage or configuration errors, printed as one
clear message (never a traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bot.config.file import ConfigError
from state.errors import RunError
from state.procedure import ProcedureError
from state.stored import StoreError

USAGE_ERROR = 2


def guarded(
    body: Callable[[], int],
    *,
    also: tuple[type[Exception], ...] = (),
    invalid_procedure: int = USAGE_ERROR,
) -> int:
    """Run a command; an error of the user's (or one of ``also``) is a message and an exit code.

    A :class:`ProcedureError` prints as it is (it names the file and each problem) and exits
    ``invalid_procedure``: 1 where checking the procedure is the command, 2 where it is its input.
    """
    usage: tuple[type[Exception], ...] = (ConfigError, RunError, StoreError, ValueError, *also)
    try:
        return body()
    except ProcedureError as e:
        sys.stderr.write(f"{e}\n")
        return invalid_procedure
    except usage as e:
        sys.stderr.write(f"upgrade-bot: {e}\n")
        return USAGE_ERROR
