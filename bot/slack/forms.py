"""The modals: open a run, say why (skip, abort), hold an announcement back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.config.sites import SiteConfig
from bot.slack.blocks import Block
from state.duration import format_duration

TITLE = 24
"""Characters of a modal's title (Slack's limit)."""


def start_form(
    site: SiteConfig,
    kinds: Sequence[str],
    cycle: str | None,
    branch: str | None,
    metadata: dict[str, Any],
) -> Block:
    """The modal that opens a run: kind, cycle tag, Phalanx branch."""
    options = [{"text": {"type": "plain_text", "text": k}, "value": k} for k in kinds]

    def text_input(block_id: str, label: str, initial: str | None, hint: str) -> Block:
        element: Block = {"type": "plain_text_input", "action_id": "value", "max_length": 100}
        if initial:
            element["initial_value"] = initial
        return {"type": "input", "block_id": block_id, "optional": True, "element": element,
                "label": {"type": "plain_text", "text": label},
                "hint": {"type": "plain_text", "text": hint}}  # fmt: skip

    return {
        "type": "modal",
        "callback_id": "upgrade.start",
        "private_metadata": json.dumps({"site": site.name, **metadata}),
        "title": {"type": "plain_text", "text": f"Upgrade {site.name}"[:TITLE]},
        "submit": {"type": "plain_text", "text": "Open the run"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "kind", "label": {"type": "plain_text", "text": "Kind"},
             "element": {"type": "static_select", "action_id": "value", "options": options,
                         "initial_option": options[0]}},
            text_input("cycle", "Cycle tag", cycle, "e.g. c0040"),
            text_input("branch", "Phalanx branch", branch, "the branch of the Phalanx PR"),
        ],
    }  # fmt: skip


def hold_form(label: str, window: timedelta, metadata: dict[str, Any]) -> Block:
    """The modal asking for how long an announcement is held back (integration testing).

    The title is short (Slack cuts a modal's at 24 characters); the step's own label (*Continue
    integration testing*) heads the question.
    """
    return {
        "type": "modal",
        "callback_id": "upgrade.hold",
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Hold the announcement"},
        "submit": {"type": "plain_text", "text": "Hold it back"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "window",
             "label": {"type": "plain_text",
                       "text": f"{label}: for how long? (30m, 2h, 1h30m)"[:2000]},
             "hint": {"type": "plain_text",
                      "text": "When it ends, the bot reminds you, with a button to announce."},
             "element": {"type": "plain_text_input", "action_id": "value",
                         "initial_value": format_duration(window), "max_length": 20}},
        ],
    }  # fmt: skip


_REASONS = {
    "skip": ("Skip this step", "Skip it", "Why? (kept in the run's record)"),
    "abort": ("Abort the run", "Abort", "Why? (kept in the run's record)"),
    "done": (
        "Mark this step done",
        "Mark done",
        "What was done by hand, and where it stands (kept in the run's record and report)",
    ),
}
"""Per form: its title, its submit button, and what it asks."""


def reason_form(what: str, metadata: dict[str, Any]) -> Block:
    """The modal asking why (``skip`` a step, ``abort`` the run) or a note (``done``)."""
    title, submit, label = _REASONS[what]
    return {
        "type": "modal",
        "callback_id": f"upgrade.{what}",
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "reason",
             "label": {"type": "plain_text", "text": label},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                         "min_length": 3, "max_length": 2000}},
        ],
    }  # fmt: skip


def targets_form(proposed: Sequence[str], metadata: dict[str, Any]) -> Block:
    """The modal editing the CSCs a stragglers step sends OFFLINE (``Name:index``, one a line)."""
    return {
        "type": "modal",
        "callback_id": "upgrade.targets",
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "The stragglers"},
        "submit": {"type": "plain_text", "text": "Keep this list"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "targets",
             "label": {"type": "plain_text", "text": "CSCs to send OFFLINE, Name:index"},
             "hint": {"type": "plain_text",
                      "text": "One a line (or commas). The step then asks for approval again."},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                         "initial_value": "\n".join(proposed), "max_length": 2000}},
        ],
    }  # fmt: skip
