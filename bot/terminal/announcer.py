"""Announcements, notices and direct messages printed as they would be posted (the demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from integrations.mrkdwn import plain

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from integrations.announce import Notice
    from state.names import Site


class TerminalAnnouncer:
    """Prints announcements as they would be posted."""

    def __init__(self, *, out: TextIO, sites: dict[Site, SiteConfig]) -> None:
        """Print to ``out``."""
        self._out = out
        self._sites = sites

    async def announce(
        self, *, site: str, key: str, text: str, audiences: Sequence[str], acknowledge: bool
    ) -> None:
        """Show where it goes, who is mentioned, and the text."""
        config = self._sites[site]  # type: ignore[index]  # the engine passes its own site names
        channels, groups = config.recipients(audiences)
        mentions = "".join(f" @{g}" for g in groups)
        button = "  [Acknowledge]" if acknowledge else ""
        self._show(f">> {key} -> {', '.join(channels)}{mentions}{button}", text)

    async def tell(self, *, site: str, notice: Notice) -> None:
        """Show where the notice goes, its buttons, and the text."""
        config = self._sites[site]  # type: ignore[index]  # the engine passes its own site names
        where = f"the run's thread in {config.channel}" if notice.in_thread else config.channel
        buttons = "".join(f"  [{c.label}]" for c in notice.choices)
        self._show(f"!! {notice.key} -> {where}{buttons}", notice.text)

    async def direct(self, *, user: str, text: str) -> None:
        """Show the direct message."""
        self._show(f">> direct message to @{user}", text)

    def _show(self, head: str, text: str) -> None:
        body = "\n".join(f"           | {line}" for line in plain(text).splitlines())
        self._out.write(f"           {head}\n{body}\n")
        self._out.flush()
