"""The forms' submissions: checked before the ack, so an error shows in the form itself."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext

from bot.usecases.answers import mentions
from handlers.parse import KINDS, MAX_TEXT
from handlers.services import cases_of
from state.errors import RunError

REASON = re.compile(r"^upgrade\.(skip|abort|done)$")
"""The callback ids of the forms that ask why (or a note)."""


async def start(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The start form: open the run."""
    values = _values(view)
    site = json.loads(view["private_metadata"])["site"]
    kind = values["kind"] or KINDS[0]
    runs = cases_of(context).runs
    user = body["user"]["id"]
    # The form's options are the kinds, so ``kind`` is one of them.
    await _submit(ack, "kind", runs.start(user, site, kind, values["cycle"], values["branch"]))  # type: ignore[arg-type]


async def reason(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The skip, abort or mark-done form: the reason (or note) given."""
    meta = json.loads(view["private_metadata"])
    text = (_values(view)["reason"] or "").strip()
    user = body["user"]["id"]
    runs = cases_of(context).runs
    if view["callback_id"] == "upgrade.skip":
        work = runs.skip(user, meta["run"], meta["step"], int(meta["rev"]), text)
    elif view["callback_id"] == "upgrade.done":
        work = runs.mark_done(user, meta["run"], meta["step"], int(meta["rev"]), text)
    else:
        work = runs.abort_run(user, meta["run"], text)
    await _submit(ack, "reason", work)


async def hold(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    """The hold form: how long an announcement is held back."""
    meta = json.loads(view["private_metadata"])
    window = (_values(view)["window"] or "").strip()
    runs = cases_of(context).runs
    user = body["user"]["id"]
    await _submit(
        ack, "window", runs.hold(user, meta["run"], meta["step"], int(meta["rev"]), window)
    )


async def _submit(ack: AsyncAck, field: str, work: Awaitable[object]) -> None:
    """Do the form's work, then ack: closed if done, else the refusal shown under ``field``."""
    try:
        await work
    except RunError as e:
        await ack(response_action="errors", errors={field: mentions(str(e))[:MAX_TEXT]})
        return
    await ack()


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
    user = body["user"]["id"]
    await _submit(
        ack, "targets", runs.edit_targets(user, meta["run"], meta["step"], int(meta["rev"]), text)
    )
