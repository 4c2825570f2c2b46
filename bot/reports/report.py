"""The run report for the observatory's logbook: Markdown, times in the site's zone and UTC.

Built from the store alone (the run's snapshot and its events), so it can be printed for any
run at any time: ``upgrade-bot report --site summit [--run ID]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config.sites import SiteConfig
from bot.reports.events import CHOICES, describe
from bot.reports.timeline import Timing, duration_text, timing, who
from state.events import Event
from state.names import PHASES
from state.run import Run, StepStatus


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    if at is None:
        return "-"
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local:%Z} ({at.astimezone(UTC):%H:%M} UTC)"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def report(run: Run, events: Sequence[Event], site: SiteConfig) -> str:
    """The whole run as Markdown."""
    zone = ZoneInfo(site.timezone)
    times = timing(run, events)
    lines = [*_head(run, site, times, zone), *_steps(run, times, zone)]
    lines += _section("Skipped", [
        f"- {s.id} by {run.name(s.ended_by or '?')}: {s.reason}"
        for s in run.steps if s.status is StepStatus.SKIPPED
    ])  # fmt: skip
    lines += _section("Done by hand", [
        f"- {s.id} by {run.name(s.ended_by or '?')}: {s.reason}"
        for s in run.steps if s.status is StepStatus.DONE_BY_HAND
    ])  # fmt: skip
    lines += _section("CSCs still in trouble", [
        line
        for s in run.steps if s.issues
        for line in (f"- at {s.id}:", *(f"  - {issue}" for issue in s.issues))
    ])  # fmt: skip
    lines += _section("Acknowledgements", [
        f"- {key}: {', '.join(run.name(u) for u in by)}" for key, by in run.acknowledged.items()
    ])  # fmt: skip
    posted = sorted(run.announced.items(), key=lambda item: item[1])  # and the bot's notices
    lines += _section("Posted by the bot", [f"- {_when(at, zone)} {key}" for key, at in posted])
    lines += _section(
        "Notes", [f"- {_when(n.at, zone)} {run.name(n.by)}: {n.text}" for n in run.notes]
    )
    lines += _section("Timeline", _timeline(run, events, zone))
    return "\n".join(lines) + "\n"


def _section(title: str, items: list[str]) -> list[str]:
    """A section, or nothing when it has no items."""
    return ["", f"## {title}", "", *items] if items else []


def _head(run: Run, site: SiteConfig, times: Timing, zone: ZoneInfo) -> list[str]:
    total = duration_text(run.elapsed(run.ended_at or run.started_at))
    phases = ", ".join(f"{p} {duration_text(times.per_phase.get(p))}" for p in PHASES)
    lines = [
        f"# {run.kind} of {site.title}: {run.status.value}",
        "",
        f"- Run `{run.run_id}`, procedure {run.procedure}",
        (
            f"- Lead {run.name(run.lead)} (started by {run.name(run.started_by)}); "
            f"cycle {run.cycle or 'n/a'}; "
            f"Phalanx branch {run.phalanx_branch or 'n/a'}"
        ),
        f"- Started {_when(run.started_at, zone)}; ended {_when(run.ended_at, zone)}; {total}",
        f"- Per phase: {phases}",
    ]
    if run.abort_reason:
        lines.append(f"- Aborted: {run.abort_reason}")
    lines += [f"- Waived: {what}: {why}" for what, why in run.waived.items()]
    return lines


def _steps(run: Run, times: Timing, zone: ZoneInfo) -> list[str]:
    lines = ["", "## Steps", "", "| # | step | result | attempts | started | took | who / why |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for index, state in enumerate(run.steps, start=1):
        lines.append(
            f"| {index} | {state.id} | {state.status.value} | {state.attempt} "
            f"| {_when(times.began.get(state.id), zone)} "
            f"| {duration_text(times.took.get(state.id))} | {_cell(who(run, state))} |"
        )
    return lines


def _timeline(run: Run, events: Sequence[Event], zone: ZoneInfo) -> list[str]:
    lines = []
    for event in events:
        text = describe(run, event)
        if not text:
            continue
        kept = [
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.startswith("──") and line.strip() != CHOICES
        ]
        lines.append(f"- {_when(event.at, zone)} {' '.join(kept)}")
    return lines
