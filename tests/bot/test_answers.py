"""A refusal shown to the person: only the ids it names become mentions, by name in a form."""

from __future__ import annotations

from bot.usecases.answers import in_form, mentions
from state.errors import NotLead


def test_only_the_people_named_become_mentions() -> None:
    """``UNKNOWN`` or ``WATCHDOG`` look like user ids; only the ids given are mentioned."""
    text = "Only the lead, U0LEAD, can: UNKNOWN WATCHDOG U0LEADX <@U0LEAD> xU0LEAD"
    assert mentions(text, {"U0LEAD": "ana"}) == (
        "Only the lead, <@U0LEAD>, can: UNKNOWN WATCHDOG U0LEADX <@U0LEAD> xU0LEAD"
    )
    assert mentions(text, {}) == text


def test_a_refusal_in_a_form_names_people_in_plain_text() -> None:
    """A form's error is plain text: the lead by name, no markup."""
    refusal = NotLead("U0OTHER", "U0LEAD", "abort the run", "ana")
    assert in_form(refusal).startswith("Only the lead, ana, can abort the run.")
