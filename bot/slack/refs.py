"""Where the bot's messages are: a message's channel and timestamp, kept in the store.

A restarted bot edits the same messages, so every reference it posts is kept under a key
(``slack/<run>/header``, ``slack/<run>/step/<id>``) and read back from this one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from state.store import Store


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message is: its channel and timestamp."""

    channel: str
    ts: str


async def saved_ref(store: Store, key: str) -> MessageRef | None:
    """A message posted earlier, as kept in the store (a restarted bot edits the same one)."""
    saved = await store.get_blob(key)
    return MessageRef(**json.loads(saved)) if saved else None


async def keep_ref(store: Store, key: str, ref: MessageRef) -> None:
    """Keep a message just posted under ``key``."""
    await store.put_blob(key, json.dumps({"channel": ref.channel, "ts": ref.ts}))
