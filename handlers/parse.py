"""``/upgrade`` text -> one typed request, or a usage error that says what is wrong.

One parser for every subcommand, so the usage message, the help and the checks are in one
place. Slack sends user mentions escaped (``<@U024BE7LH|bob>``) when the command has "escape
channels, users and links" on, as our manifest sets it; a bare ``@name`` cannot be resolved
to a user id without a lookup, so it is refused with a hint.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from state.names import RunKind, Site

SITE_NAMES: tuple[str, ...] = get_args(Site)
KINDS: tuple[str, ...] = get_args(RunKind)
MAX_TEXT = 2000
"""Characters of a note or reason kept (Slack sends at most a few thousand)."""

USAGE = """\
*/upgrade* — run the control-system upgrade of a site
• `/upgrade start <site> [cycle-upgrade|system-restart] [cycle=<tag>] [branch=<phalanx branch>]` \
— open a run (without a kind, a form asks)
• `/upgrade status [site] [share]` — where every site stands (only you see it, unless `share`)
• `/upgrade check <site>` — can the bot reach each of the site's systems? (read-only)
• `/upgrade handover @user` — make someone else the lead
• `/upgrade takeover <site> <reason>` — an admin takes a run over when its lead is gone
• `/upgrade pause` · `/upgrade resume` — hold the run before its next step, and go on
• `/upgrade note <text>` — add a note to the run's record
• `/upgrade prepull stop` — end the pre-pull of the new images now (its DaemonSet is removed)
• `/upgrade abort` — end the run (a form asks the reason)
• `/upgrade help` — this
Sites: summit, tts, bts."""


class UsageError(ValueError):
    """The text is not a command we understand; the message says why and how."""


@dataclass(frozen=True, slots=True)
class Start:
    """Open a run; missing parts are asked in a form."""

    site: Site
    kind: RunKind | None = None
    cycle: str | None = None
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """Where the sites stand (one, or all)."""

    site: Site | None = None
    share: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """Ping every system of a site (read-only)."""

    site: Site


@dataclass(frozen=True, slots=True)
class Handover:
    """The lead hands the run of this channel's site over (``name``: as the mention named them)."""

    user: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Takeover:
    """An admin takes a site's run over."""

    site: Site
    reason: str


@dataclass(frozen=True, slots=True)
class Pause:
    """Hold the run of this channel's site before its next step."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Go on with a paused run."""


@dataclass(frozen=True, slots=True)
class Note:
    """Add a note to the run's record."""

    text: str


@dataclass(frozen=True, slots=True)
class Abort:
    """End the run; the reason is asked in a form unless given."""

    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PrepullStop:
    """End the run's pre-pull now (the lead's word)."""


@dataclass(frozen=True, slots=True)
class Help:
    """Show the usage."""


Request = (
    Start
    | Status
    | Check
    | Handover
    | Takeover
    | Pause
    | Resume
    | Note
    | Abort
    | PrepullStop
    | Help
)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")

TAG_RULE = "letters, digits and . _ / - only, starting with a letter or digit (e.g. c0040)"
"""What a cycle tag or a branch name may hold, in words (the start form says it)."""


def is_tag(value: str) -> bool:
    """Whether ``value`` may be a cycle tag or a Phalanx branch name (nothing else gets in)."""
    return bool(_TAG.match(value))


def _site(word: str) -> Site:
    site = word.lower()
    if site not in SITE_NAMES:
        raise UsageError(f"unknown site {word!r}: one of {', '.join(SITE_NAMES)}")
    return site  # type: ignore[return-value]  # checked against Site's values


def _one_site(args: list[str], verb: str) -> Site:
    if len(args) != 1:
        raise UsageError(f"`/upgrade {verb} <site>`: one of {', '.join(SITE_NAMES)}")
    return _site(args[0])


def _rest(text: str, words: int) -> str:
    """The text after its first ``words`` words, as typed."""
    parts = text.strip().split(None, words)
    return parts[words].strip() if len(parts) > words else ""


def _start(args: list[str]) -> Start:
    if not args:
        raise UsageError("which site? `/upgrade start summit|tts|bts`")
    site = _site(args[0])
    kind: str | None = None
    found: dict[str, str] = {}
    for arg in args[1:]:
        key, eq, value = arg.partition("=")
        if not eq:
            if arg.lower() not in KINDS or kind is not None:
                raise UsageError(
                    f"unexpected {arg!r}: give the kind once ({' or '.join(KINDS)}) and "
                    "`cycle=<tag>`, `branch=<phalanx branch>`"
                )
            kind = arg.lower()
            continue
        if key not in {"cycle", "branch"} or key in found:
            raise UsageError(f"unexpected {arg!r}: only `cycle=` and `branch=`, once each")
        if not is_tag(value):
            raise UsageError(f"{key}={value!r} is not a tag or branch name: {TAG_RULE}")
        found[key] = value
    return Start(site, kind, found.get("cycle"), found.get("branch"))  # type: ignore[arg-type]


def _status(_text: str, args: list[str]) -> Status:
    share = [a for a in args if a.lower() == "share"]
    others = [a for a in args if a.lower() != "share"]
    if len(others) > 1 or len(share) > 1:
        raise UsageError("`/upgrade status [site] [share]`")
    return Status(_site(others[0]) if others else None, bool(share))


def _handover(_text: str, args: list[str]) -> Handover:
    found = _MENTION.match(args[0]) if len(args) == 1 else None
    if found is None:
        raise UsageError("`/upgrade handover @user`: mention one person (pick them in the list)")
    return Handover(found.group(1), found.group(2) or None)


def _takeover(text: str, args: list[str]) -> Takeover:
    if len(args) < 2:  # noqa: PLR2004  # a site and a reason
        raise UsageError("`/upgrade takeover <site> <reason>`: say why, it is recorded")
    return Takeover(_site(args[0]), _rest(text, 2)[:MAX_TEXT])


def _note(text: str, _args: list[str]) -> Note:
    note = _rest(text, 1)
    if not note:
        raise UsageError("`/upgrade note <text>`: the note is empty")
    return Note(note[:MAX_TEXT])


def _prepull(_text: str, args: list[str]) -> Request:
    if [a.lower() for a in args] != ["stop"]:
        raise UsageError("say `/upgrade prepull stop` to end the pre-pull now")
    return PrepullStop()


def _bare(request: Request) -> Callable[[str, list[str]], Request]:
    def parse(_text: str, args: list[str]) -> Request:
        if args:
            raise UsageError(f"unexpected {' '.join(args)!r}: this command takes nothing more")
        return request

    return parse


_PARSERS: dict[str, Callable[[str, list[str]], Request]] = {
    "help": lambda _text, _args: Help(),
    "start": lambda _text, args: _start(args),
    "status": _status,
    "check": lambda _text, args: Check(_one_site(args, "check")),
    "handover": _handover,
    "takeover": _takeover,
    "pause": _bare(Pause()),
    "resume": _bare(Resume()),
    "note": _note,
    "prepull": _prepull,
    "abort": lambda text, _args: Abort(_rest(text, 1)[:MAX_TEXT] or None),
}


def parse_command(text: str) -> Request:
    """The request the text of ``/upgrade`` asks for; :class:`UsageError` if none."""
    text = text.strip()
    if not text:
        return Help()
    try:
        words = shlex.split(text)
    except ValueError as e:  # an unclosed quote
        raise UsageError(f"cannot read that: {e}") from e
    parser = _PARSERS.get(words[0].lower())
    if parser is None:
        raise UsageError(f"unknown command {words[0]!r}. Try `/upgrade help`.")
    return parser(text, words[1:])
