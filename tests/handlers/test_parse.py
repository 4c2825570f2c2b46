"""The ``/upgrade`` parser: every subcommand as typed, usage errors, and garbage."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers import parse


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("", parse.Help()),
        ("start summit", parse.Start("summit")),
        ("START tts system-restart cycle=c0040 branch=tickets/DM-1",
         parse.Start("tts", "system-restart", "c0040", "tickets/DM-1")),
        ("status", parse.Status()),
        ("check bts", parse.Check("bts")),
        ("status bts share", parse.Status("bts", share=True)),
        ("handover <@U0123ABC|bob>", parse.Handover("U0123ABC", "bob")),
        ("takeover summit Ana is off shift", parse.Takeover("summit", "Ana is off shift")),
        ("pause", parse.Pause()),
        ("note  MTDome  fixed by hand ", parse.Note("MTDome  fixed by hand")),
        ("abort", parse.Abort()),
        ("abort dome stuck", parse.Abort("dome stuck")),
        ("prepull STOP", parse.PrepullStop()),
    ],
)  # fmt: skip
def test_commands_parse(text: str, request_: parse.Request) -> None:
    """Each subcommand as typed."""
    assert parse.parse_command(text) == request_


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("start", "which site?"),
        ("start moon", "unknown site 'moon'"),
        ("start summit cycle-upgrade system-restart", "give the kind once"),
        ("start summit color=red", "only `cycle=` and `branch=`"),
        ("start summit cycle=;rm", "not a tag or branch name"),
        ("handover bob", "mention one person"),
        ("takeover summit", "say why"),
        ("check", "`/upgrade check <site>`"),
        ("pause now", "takes nothing more"),
        ("prepull", "/upgrade prepull stop"),
        ("note", "the note is empty"),
        ("status summit tts", "/upgrade status [site] [share]"),
        ("reboot summit", "unknown command 'reboot'"),
    ],
)
def test_bad_commands_say_what_is_wrong(text: str, words: str) -> None:
    """A usage error names the problem."""
    with pytest.raises(parse.UsageError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse.parse_command(text)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    """Garbage never crashes the parser: a request, or a usage error with a message."""
    try:
        request: object = parse.parse_command(text)
    except parse.UsageError as e:
        request = e
    if isinstance(request, parse.UsageError):
        assert str(request)
    else:
        assert isinstance(request, get_args(parse.Request))


def test_tags_are_what_git_and_the_bot_accept() -> None:
    """A cycle tag or branch: letters, digits and ``._/-``; nothing that could ping or run."""
    assert parse.is_tag("c0040")
    assert parse.is_tag("tickets/DM-12345")
    for bad in ("<!channel>", "$(reboot)", "a b", "-rf", "", "x" * 101):
        assert not parse.is_tag(bad)
