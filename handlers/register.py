"""Every listener added to a Bolt app, in one place: the composition root calls :func:`register`."""

from __future__ import annotations

from collections.abc import Mapping

from slack_bolt.async_app import AsyncApp

from bot.config.sites import SiteConfig
from bot.usecases.cases import UseCases
from handlers import buttons, commands, errors, forms, home
from handlers.services import ignore_retries, mark_answers, services
from handlers.show import Shower
from state.names import Site


def register(
    app: AsyncApp, cases: UseCases, sites: Mapping[Site, SiteConfig], *, rehearsal: bool = False
) -> None:
    """Add the middleware, every listener, and the error handler to ``app``.

    ``rehearsal``: the answers to requests carry the REHEARSAL marker, as every post does.
    """
    app.error(errors.answer_error)
    if rehearsal:  # first: any answer, an error's too, is marked
        app.middleware(mark_answers)
    app.middleware(ignore_retries)
    app.middleware(services(cases, Shower(sites)))
    app.command("/upgrade")(commands.upgrade)
    app.action(buttons.STEP_OR_RUN)(buttons.pressed)
    app.action(buttons.UNDER_POSTS)(buttons.under_post)
    app.event("app_home_opened")(home.home)
    app.view("upgrade.start")(forms.start)
    app.view(forms.REASON)(forms.reason)
    app.view("upgrade.hold")(forms.hold)
    app.view("upgrade.targets")(forms.targets)
