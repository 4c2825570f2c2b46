"""One problem with a procedure or a configuration, located for its author."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(word: str, known: Iterable[str], cutoff: float = 0.75) -> str:
    """`` (did you mean 'love'?)`` for a near miss among ``known``, case aside; else ``""``."""
    folded = {name.lower(): name for name in known}
    found = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=cutoff)
    return f" (did you mean {folded[found[0]]!r}?)" if found else ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a procedure, located for its author."""

    step: str | None
    field: str
    message: str

    def __str__(self) -> str:
        """``step 'argocd-sasquatch', action.show_diff: ...``."""
        where = f"step {self.step!r}" if self.step else "procedure"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )
