"""Slack mrkdwn: outside text made inert, the bot's own mentions and links live."""

from __future__ import annotations

from integrations.mrkdwn import channel_link, escape, is_channel_id, mention, plain


def test_escape_makes_every_special_token_plain_text() -> None:
    """``<!channel>``, ``<!here>``, ``<@U…>``, links and entities: nothing left live."""
    text = "<!channel> <!here> <@U0123ABC> <https://x.org|x> a & b <#C0123ABC>"
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert escaped.count("&amp;") == 1
    assert plain(escaped) == text  # the terminal reads what was typed


def test_the_bots_own_markup() -> None:
    """A mention notifies; a channel by id links with its current name; a name stays a name."""
    assert mention("U0LEAD") == "<@U0LEAD>"
    assert channel_link("C0SUMMIT") == "<#C0SUMMIT>"
    assert channel_link("G0PRIVATE") == "<#G0PRIVATE>"
    assert channel_link("#summit-announce") == "#summit-announce"
    assert channel_link("summit-announce") == "#summit-announce"
    assert is_channel_id("C0SUMMIT")
    assert not is_channel_id("summit")


def test_plain_shows_markup_as_a_person_reads_it() -> None:
    """Mentions as @id, channel links as #id, labelled links by their label."""
    assert plain("<@U1> in <#C0SUMMIT> at <!date^1^{time}|12:00>") == "@U1 in #C0SUMMIT at 12:00"
    assert plain("<!subteam^S0CAM|@camera-team> go") == "@camera-team go"
