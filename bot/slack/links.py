"""A step's "by hand" part in Slack: what to do (a section) and the views it names (links).

What to do and which views come from :func:`bot.engine.by_hand.by_hand` (one place for Slack
and the terminal); here they are written as mrkdwn. A view the site has not configured is
named, *not configured*, never linked to a guess. A pull request, once the GitHub runner has
found it (its ``html_url`` in the step's progress or outcome), links to its own page instead
of the list of pull requests from the run's branch.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.engine.by_hand import NOT_CONFIGURED, ByHand, Link, by_hand
from state.actions import GithubPullRequest

if TYPE_CHECKING:
    from bot.config.sites import SiteConfig
    from state.run import Run, StepState

_PR = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/pull/(\d+)")
"""A pull request's page, as the GitHub runner writes it."""


def hand_text(hand: ByHand) -> str:
    """What to do by hand, as a section's mrkdwn."""
    return "\n".join(["*By hand:*", *hand.lines])


def links_text(links: tuple[Link, ...]) -> str:
    """The views, ``<url|label>`` each, or the label and *not configured*."""
    return " · ".join(
        f"<{link.url}|{link.label}>" if link.url else f"{link.label}: _{NOT_CONFIGURED}_"
        for link in links
    )


def step_hand(
    run: Run, state: StepState, site: SiteConfig, progress: str | None
) -> tuple[str, str]:
    """The step's "by hand" section and its line of links (each empty when it has none).

    Once the step has ended only its links stay: there is nothing left to do by hand.
    """
    hand = by_hand(run, state, site)
    if hand is None:
        return "", ""
    links = hand.links
    action = state.step.action
    found = _PR.search(f"{state.outcome or ''} {progress or ''}")
    if isinstance(action, GithubPullRequest) and found:
        links = (Link(f"{action.repo}#{found.group(1)}", found.group()),)
    return ("" if state.status.ended else hand_text(hand)), links_text(links)
