"""One problem with a procedure or a configuration, located for its author."""

from __future__ import annotations

from dataclasses import dataclass


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
