"""The forms' submissions: checked before the ack, so a refusal shows in the form itself.

What is quick (open a run, skip a step, hold an announcement) is done before the ack, and its
refusal is shown under the field. The start form's cycle and branch are checked as the
``/upgrade start`` text is. Aborting stops the running step, which may take up to the engine's
cancel timeout, past Slack's 3 seconds: the abort is checked first (a refusal shows in the
form), then acked, then done; the engine reports the stop in the run's thread, and an error
after the ack is answered by the error handler (:mod:`handlers.errors`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext

from bot.usecases.answers import in_form
from handlers.origin import presser
from handlers.parse import KINDS, MAX_TEXT, TAG_RULE, is_tag
from handlers.services import cases_of
from state.errors import RunError

REASON = re.compile(r"^upgrade\.(skip|abort|done)$")
"""The callback ids of the forms that ask why (or a note)."""


async def start(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The start form: its cycle and branch checked, then the run opened."""
    values = _values(view)
    wrong = {
        field: f"Not a {what}: {TAG_RULE}."
        for field, what in (("cycle", "cycle tag"), ("branch", "branch name"))
        if (value := values[field]) is not None and not is_tag(value.strip())
    }
    if wrong:
        await ack(response_action="errors", errors=wrong)
        return
    site = json.loads(view["private_metadata"])["site"]
    kind = values["kind"] or KINDS[0]
    cycle, branch = (v.strip() if v else None for v in (values["cycle"], values["branch"]))
    runs = cases_of(context).runs
    # The form's options are the kinds, so ``kind`` is one of them.
    await _submit(ack, "kind", runs.start(presser(body), site, kind, cycle, branch))  # type: ignore[arg-type]


async def reason(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The skip, abort or mark-done form: the reason (or note) given."""
    meta = json.loads(view["private_metadata"])
    text = (_values(view)["reason"] or "").strip()
    who = presser(body)
    runs = cases_of(context).runs
    if view["callback_id"] == "upgrade.skip":
        work = runs.skip(who, meta["run"], meta["step"], int(meta["rev"]), text)
        await _submit(ack, "reason", work)
        return
    if view["callback_id"] == "upgrade.done":
        work = runs.mark_done(who, meta["run"], meta["step"], int(meta["rev"]), text)
        await _submit(ack, "reason", work)
        return
    if await _refused(ack, "reason", runs.check_abort(who, meta["run"], text)):
        return
    await ack()  # the form closes now; stopping the running step goes on from here
    await runs.abort_run(who, meta["run"], text)


async def hold(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The hold form: how long an announcement is held back."""
    meta = json.loads(view["private_metadata"])
    window = (_values(view)["window"] or "").strip()
    runs = cases_of(context).runs
    work = runs.hold(presser(body), meta["run"], meta["step"], int(meta["rev"]), window)
    await _submit(ack, "window", work)


async def _submit(ack: AsyncAck, field: str, work: Awaitable[object]) -> None:
    """Do the form's work, then ack: closed if done, else the refusal shown under ``field``."""
    if not await _refused(ack, field, work):
        await ack()


async def _refused(ack: AsyncAck, field: str, work: Awaitable[object]) -> bool:
    """Do ``work``; if it is refused, ack with the refusal under ``field`` and say so."""
    try:
        await work
    except RunError as e:
        await ack(response_action="errors", errors={field: in_form(e)[:MAX_TEXT]})
        return True
    return False


def _values(view: dict[str, Any]) -> dict[str, str | None]:
    """A submitted form's inputs by block id (``None`` when left empty)."""
    out: dict[str, str | None] = {}
    for block_id, actions in view["state"]["values"].items():
        field = actions.get("value", {})
        chosen = field.get("selected_option")
        out[block_id] = chosen["value"] if chosen else field.get("value") or None
    return out


async def targets(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The stragglers form: the list the step sends OFFLINE."""
    meta = json.loads(view["private_metadata"])
    text = _values(view)["targets"] or ""
    runs = cases_of(context).runs
    work = runs.edit_targets(presser(body), meta["run"], meta["step"], int(meta["rev"]), text)
    await _submit(ack, "targets", work)
