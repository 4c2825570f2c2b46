"""How our services reach the listeners: a middleware puts them in Bolt's ``context``.

Listeners are plain module-level functions (tests import them without a global app); Bolt
injects arguments by name, so the use cases and the answer shower come as ``context["cases"]``
and ``context["show"]``, read back through :func:`cases_of` and :func:`show_of`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncBoltContext, AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.rehearsal import MarkedRespond
from bot.usecases.cases import UseCases
from handlers.show import Shower

Next = Callable[[], Awaitable[BoltResponse]]


def services(
    cases: UseCases, show: Shower
) -> Callable[[AsyncBoltContext, Next], Awaitable[BoltResponse]]:
    """The middleware that hands ``cases`` and ``show`` to every listener."""

    async def put(context: AsyncBoltContext, next: Next) -> BoltResponse:  # noqa: A002  # Bolt's name
        context["cases"] = cases
        context["show"] = show
        return await next()

    return put


async def mark_answers(context: AsyncBoltContext, next: Next) -> BoltResponse:  # noqa: A002
    """In a rehearsal: the answers by ``response_url`` carry the REHEARSAL marker too.

    Bolt builds ``respond`` lazily from ``context["respond"]`` (``AsyncBoltContext.respond``);
    putting ours there first makes every listener and the error handler use it.
    """
    if context.response_url is not None:
        context["respond"] = MarkedRespond(
            response_url=context.response_url, proxy=context.client.proxy, ssl=context.client.ssl
        )
    return await next()


def cases_of(context: AsyncBoltContext) -> UseCases:
    """The use cases, as the middleware put them."""
    cases: UseCases = context["cases"]
    return cases


def show_of(context: AsyncBoltContext) -> Shower:
    """The answer shower, as the middleware put it."""
    show: Shower = context["show"]
    return show


async def ignore_retries(
    req: AsyncBoltRequest,
    next: Next,  # noqa: A002  # Bolt passes it by this name
) -> BoltResponse:
    """Slack's retries (``X-Slack-Retry-Num``) are acked and dropped: the first one ran.

    A new 200 is returned: the ``resp`` Bolt hands a middleware is ``None`` once an earlier
    middleware called ``next()`` (Bolt's ``next`` returns nothing), so it cannot be mutated.
    """
    if req.headers.get("x-slack-retry-num"):
        return BoltResponse(status=200, body="")
    return await next()
