"""``/metrics``: what the bot did, in Prometheus' text format.

An engine listener counts the events stored (commands applied) by type, the steps' durations
by how they ended, and the failures by the outside system that failed; the Slack front end's
edit budget adds its calls and its rate limits. The text format is four lines of code; no
registry library is needed for a handful of counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.engine.engine import Change, RunChanged
from bot.slack.updates import Updates
from state.events import StepDoneByHand, StepDoneWithIssues, StepFailed, StepSkipped, StepSucceeded

_ENDED = StepSucceeded | StepFailed | StepDoneWithIssues | StepDoneByHand | StepSkipped


class Metrics:
    """Counters fed by the engine's changes."""

    def __init__(self, updates: Updates | None = None) -> None:
        """``updates``: the Slack edit budget whose calls are reported too."""
        self._updates = updates
        self.events: Counter[str] = Counter()
        self.step_seconds: dict[str, float] = {}
        self.steps_ended: Counter[str] = Counter()
        self.integration_errors: Counter[str] = Counter()

    async def __call__(self, change: Change) -> None:
        """The engine's listener."""
        if not isinstance(change, RunChanged):
            return
        for event in change.events:
            self.events[event.type] += 1
            if isinstance(event, StepFailed) and not event.cancelled:
                system = "timeout" if event.timed_out else _system(event.error)
                self.integration_errors[system] += 1
            if isinstance(event, _ENDED):
                state = change.run.step(event.step_id)
                if state is not None and state.started_at is not None:
                    outcome = event.type.removeprefix("step.")
                    self.steps_ended[outcome] += 1
                    took = (event.at - state.started_at).total_seconds()
                    self.step_seconds[outcome] = self.step_seconds.get(outcome, 0.0) + took

    def render(self) -> str:
        """The Prometheus text exposition."""
        families: list[tuple[str, str, str, Mapping[str, float]]] = [
            ("upgrade_bot_events_total", "Events stored, by type.", "type", self.events),
            ("upgrade_bot_step_seconds_sum", "Seconds steps took, by how they ended.",
             "outcome", self.step_seconds),
            ("upgrade_bot_step_seconds_count", "Steps ended, by how they ended.",
             "outcome", self.steps_ended),
            ("upgrade_bot_integration_errors_total",
             "Step failures, by the outside system that failed.", "system",
             self.integration_errors),
        ]  # fmt: skip
        if self._updates is not None:
            u = self._updates
            calls = {"sent": u.sent, "rate_limited": u.limited, "failed": u.failed,
                     "merged": u.merged}  # fmt: skip
            families.append(("upgrade_bot_slack_edits_total", "chat.update edits, by result.",
                             "result", calls))  # fmt: skip
        lines: list[str] = []
        for name, help_text, label, values in families:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            lines += [f'{name}{{{label}="{k}"}} {v:g}' for k, v in sorted(values.items())]
        return "\n".join(lines) + "\n"


def _system(error: str) -> str:
    """``LOVE (summit-lsp.lsst.codes): 503: ...`` -> ``LOVE``."""
    head = error.split(":", 1)[0].split(" (", 1)[0].strip()
    return head if head and len(head) <= 20 and " " not in head else "other"  # noqa: PLR2004
