"""``/metrics``: what the bot did and how it stands, by ``prometheus-client``, for Prometheus.

One registry per bot (not the library's global one), so that several bots in one process
(tests, a standby beside its driver) never collide. An engine listener counts the events
stored, times the steps (a histogram per step and outcome, in the run's own clock: on the
demo's fast clock a thirty-minute watch counts thirty minutes) and counts the failures by
the outside system that failed; the Slack client reports each failed Web API call. At every
scrape a collector reads what is true now: who holds the store's lease, at which epoch,
which worker runs, and the Slack edit budget's calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from bot.engine.changes import Change, RunChanged
from bot.slack.updates import Updates
from state.events import StepDoneByHand, StepDoneWithIssues, StepFailed, StepSkipped, StepSucceeded

_ENDED = StepSucceeded | StepFailed | StepDoneWithIssues | StepDoneByHand | StepSkipped

STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200)
"""Seconds: a ping takes a second, a sync minutes, a watch half an hour, a manual step more."""


@dataclass(frozen=True)
class Vitals:
    """What the collector reads at each scrape (each may be absent: a bot standing by)."""

    holder: Callable[[], str | None]
    """Who this bot is on the lease while it holds it, else ``None``."""
    epoch: Callable[[], int | None]
    workers: Callable[[], Mapping[str, bool]]
    updates: Updates | None = None


class Metrics:
    """The bot's metrics: counters fed by the engine's changes, the rest read when scraped."""

    def __init__(self) -> None:
        """An empty registry of this bot's own."""
        self.registry = CollectorRegistry()
        self._events = Counter(
            "upgrade_bot_events", "Events stored, by type.", ["type"], registry=self.registry
        )
        self._steps = Histogram(
            "upgrade_bot_step_duration_seconds",
            "How long steps took (in the run's clock), by step and how they ended.",
            ["step", "outcome"],
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )
        self._integration_errors = Counter(
            "upgrade_bot_integration_errors",
            "Step failures, by the outside system that failed.",
            ["system"],
            registry=self.registry,
        )
        self._slack_errors = Counter(
            "upgrade_bot_slack_errors",
            "Slack Web API calls that failed, by method and error.",
            ["method", "error"],
            registry=self.registry,
        )
        self._now = _Now()
        self.registry.register(self._now)

    def watch(self, vitals: Vitals) -> None:
        """Report these at each scrape (the bot drives from now on)."""
        self._now.vitals = vitals

    def slack_error(self, method: str, error: str) -> None:
        """A Slack Web API call failed (``error``: Slack's code, or the connection's)."""
        self._slack_errors.labels(method, error).inc()

    async def __call__(self, change: Change) -> None:
        """The engine's listener."""
        if not isinstance(change, RunChanged):
            return
        for event in change.events:
            self._events.labels(event.type).inc()
            if isinstance(event, StepFailed) and not event.cancelled:
                system = "timeout" if event.timed_out else _system(event.error)
                self._integration_errors.labels(system).inc()
            if isinstance(event, _ENDED):
                state = change.run.step(event.step_id)
                if state is not None and state.started_at is not None:
                    outcome = event.type.removeprefix("step.")
                    took = (event.at - state.started_at).total_seconds()
                    self._steps.labels(state.id, outcome).observe(took)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition and its content type, in the format the scraper accepts.

        Negotiated as ``prometheus-client``'s own handlers do (``choose_encoder``): the text
        format by default, OpenMetrics when asked for.
        """
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


class _Now(Collector):
    """What is true at the scrape: the lease, the workers, the Slack edit budget."""

    def __init__(self) -> None:
        self.vitals: Vitals | None = None

    def collect(self) -> Iterator[Metric]:
        vitals = self.vitals
        if vitals is None:
            return
        held = GaugeMetricFamily(
            "upgrade_bot_lease_held", "1 while this bot holds the store's lease.", labels=["holder"]
        )
        holder = vitals.holder()
        held.add_metric([holder or ""], 1 if holder else 0)
        yield held
        epoch = vitals.epoch()
        if epoch is not None:
            yield GaugeMetricFamily(
                "upgrade_bot_lease_epoch", "The epoch of the lease this bot holds.", value=epoch
            )
        up = GaugeMetricFamily(
            "upgrade_bot_worker_up", "1 while the worker runs.", labels=["worker"]
        )
        for name, alive in sorted(vitals.workers().items()):
            up.add_metric([name], 1 if alive else 0)
        yield up
        if vitals.updates is not None:
            u = vitals.updates
            edits = CounterMetricFamily(
                "upgrade_bot_slack_edits", "chat.update edits, by result.", labels=["result"]
            )
            calls = {"sent": u.sent, "rate_limited": u.limited, "failed": u.failed,
                     "merged": u.merged}  # fmt: skip
            for result, count in calls.items():
                edits.add_metric([result], count)
            yield edits


def _system(error: str) -> str:
    """``LOVE (summit-lsp.lsst.codes): 503: ...`` -> ``LOVE``."""
    head = error.split(":", 1)[0].split(" (", 1)[0].strip()
    return head if head and len(head) <= 20 and " " not in head else "other"  # noqa: PLR2004
