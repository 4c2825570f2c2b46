"""Block Kit primitives within Slack's limits: sections, context lines, buttons, confirmations.

At most 50 blocks a message, 3000 characters a section: long text is cut, saying so. Dates use
Slack's date formatting, so each reader sees their own time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from state.duration import human_duration

Block = dict[str, Any]
SECTION = 3000
"""Characters of a section's text (Slack's limit)."""
MAX_BLOCKS = 50


def cut(text: str, limit: int = SECTION) -> str:
    """``text`` within ``limit`` characters, saying it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 20].rstrip() + "\n… (cut)"


def date(at: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack's date formatting: each reader sees their own time zone."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{fmt}|{fallback}>"


def elapsed(seconds: float) -> str:
    """``2h5m`` / ``12m``: to the minute (a message is not edited every second)."""
    return human_duration(seconds - seconds % 60)


def section(text: str) -> Block:
    """A markdown section."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text)}}


def context(text: str) -> Block:
    """A small grey line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text)}]}


def confirm(title: str, text: str, go: str) -> Block:
    """A button's "are you sure?" dialog (``go`` labels the button that goes ahead)."""
    return {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": {"type": "mrkdwn", "text": cut(text, 300)},
        "confirm": {"type": "plain_text", "text": go[:30]},
        "deny": {"type": "plain_text", "text": "Not now"},
        "style": "danger",
    }


def button(
    label: str, action_id: str, data: str, *, style: str | None = None, confirm: Block | None = None
) -> Block:
    """A button; ``style`` primary or danger."""
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": data,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element
