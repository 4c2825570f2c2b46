"""Every use case of the Slack surface, built once and handed to the listeners."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.config.sites import SiteConfig
from bot.engine.engine import Engine
from bot.usecases.buttons import Buttons
from bot.usecases.runs import Runs
from bot.usecases.status import Check, Status
from state.names import Site


@dataclass(frozen=True, slots=True)
class UseCases:
    """The use cases, by kind: the runs' commands and forms, the buttons, the status."""

    runs: Runs
    buttons: Buttons
    status: Status

    @classmethod
    def create(
        cls,
        *,
        engine: Engine,
        sites: Mapping[Site, SiteConfig],
        starters: Mapping[Site, frozenset[str]] | None = None,
        check: Check | None = None,
    ) -> UseCases:
        """All of them over one engine and one set of sites."""
        return cls(
            runs=Runs(engine=engine, sites=sites, starters=starters),
            buttons=Buttons(engine=engine, sites=sites),
            status=Status(engine=engine, sites=sites, check=check),
        )
