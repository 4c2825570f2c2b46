"""Failures of outside systems, carrying what an engineer needs to act on them.

An :class:`IntegrationError` is shown on the step with Retry and Mark done buttons, so it
says which system and host failed, with the status (HTTP code, exit code) and the tail of the
body or stderr: the real error, not a paraphrase. It never carries a credential.
"""

from __future__ import annotations

TAIL = 500
"""Characters of a body or stderr kept: enough to read the error, short enough for Slack."""


class IntegrationError(Exception):
    """An outside system failed, refused, or answered something we cannot use."""

    def __init__(
        self,
        system: str,
        message: str,
        *,
        host: str | None = None,
        status: int | str | None = None,
        detail: str | None = None,
    ) -> None:
        """Keep the parts apart for rendering; ``str()`` joins them on one line."""
        self.system = system
        self.message = message
        self.host = host
        self.status = status
        self.detail = detail[-TAIL:] if detail else None
        super().__init__(str(self))

    def __str__(self) -> str:
        """``LOVE (summit-lsp.lsst.codes): HTTP 504: Command time out...``."""
        where = f"{self.system} ({self.host})" if self.host else self.system
        status = f": {self.status}" if self.status is not None else ""
        detail = f" | {self.detail}" if self.detail else ""
        return f"{where}{status}: {self.message}{detail}"


class Unreachable(IntegrationError):
    """The system could not be reached (a refused connection): nothing was sent to it.

    Safe to try again; and nothing it was asked to do has happened.
    """


class NoAnswer(IntegrationError):
    """The request was sent but no answer came (dropped, timed out, a gateway's 504).

    It may have been acted on: before doing it again, look whether it was (a script queued, a
    sync started). Never report it as "not done".
    """


class IntegrationTimeout(NoAnswer):
    """An outside call did not answer within its timeout (it may have been acted on)."""
