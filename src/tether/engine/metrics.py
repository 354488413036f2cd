"""Prometheus metrics of one engine: counters and histograms fed by its facts, store gauges read at each scrape.

Imported only where metrics are served (``tether server``, ``tether worker --metrics-port``):
prometheus_client is not loaded otherwise. Each :class:`Metrics` has its own registry, so
several engines in one process (tests, an embedded server) never share counters. Counters
count what this process's engine did; the gauges read the store, so every process that
serves them shows the same queues.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

from tether.engine import observation
from tether.engine.core import EngineCore
from tether.store.rows import QueueGauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of the text exposition format."""

_WAITS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
"""Seconds: queueing and resume latencies, from a millisecond to an hour."""
_RUNS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)
"""Seconds: attempts, which may wait days for their token."""

_Labelled = TypeVar("_Labelled", bound=MetricWrapperBase)


class Metrics:
    """The metrics of one engine; created once, it observes the engine until :meth:`close`."""

    def __init__(self, engine: EngineCore) -> None:
        self._engine = engine
        self.registry = CollectorRegistry()
        r = self.registry
        self.started = Counter("tether_executions_started", "Executions started.", ["workflow"], registry=r)
        self.closed = Counter(
            "tether_executions_closed", "Runs closed, by final status.", ["workflow", "status"], registry=r
        )
        self.attempts_started = Counter(
            "tether_activity_attempts_started", "Activity attempts started.", ["activity"], registry=r
        )
        self.attempts = Counter(
            "tether_activity_attempts",
            "Activity attempts ended, by outcome: completed, failed, cancelled, timed_out_<kind>.",
            ["activity", "outcome"],
            registry=r,
        )
        self.went_async = Counter(
            "tether_activity_attempts_went_async", "Attempts that returned make_async().", ["activity"], registry=r
        )
        self.heartbeats = Counter("tether_activity_heartbeats", "Heartbeats recorded.", ["activity"], registry=r)
        self.token_closes = Counter(
            "tether_token_closes",
            "Closes by token (complete, fail, report_cancelled): recorded, repeat, or refused with an error code.",
            ["call", "outcome", "code"],
            registry=r,
        )
        self.schedule_to_start = Histogram(
            "tether_activity_schedule_to_start_seconds",
            "How long a first attempt stood queued before a worker started it.",
            ["activity"],
            buckets=_WAITS,
            registry=r,
        )
        self.attempt_seconds = Histogram(
            "tether_activity_attempt_seconds",
            "How long attempts took from start to end (waiting for a token included).",
            ["activity"],
            buckets=_RUNS,
            registry=r,
        )
        self.resume = Histogram(
            "tether_workflow_resume_latency_seconds",
            "From an activity's close to the workflow task that hands it to the workflow.",
            buckets=_WAITS,
            registry=r,
        )
        self.transactions = Histogram(
            "tether_store_transaction_seconds", "Writing store transactions, queueing included.", registry=r
        )
        self.transaction_failures = Counter(
            "tether_store_transaction_failures",
            "Writing transactions the store failed, by error.",
            ["error"],
            registry=r,
        )
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}
        self._gauges = _StoreGauges()
        r.register(self._gauges)
        engine.add_observer(self)

    def close(self) -> None:
        """Stop observing the engine."""
        self._engine.remove_observer(self)

    def observe(self, facts: Sequence[observation.Fact], caller: str | None) -> None:  # noqa: D102
        child = self._child
        for fact in facts:
            match fact:  # the most frequent facts first: each case is a type check
                case observation.StoreTransaction(seconds=seconds, error=error):
                    self.transactions.observe(seconds)
                    if error is not None:
                        child(self.transaction_failures, error).inc()
                case observation.AttemptStarted(activity=activity, waited_ms=waited):
                    child(self.attempts_started, activity).inc()
                    if waited is not None:
                        child(self.schedule_to_start, activity).observe(waited / 1000)
                case observation.AttemptClosed(activity=activity, outcome=outcome, ran_ms=ran):
                    child(self.attempts, activity, outcome).inc()
                    if ran is not None:
                        child(self.attempt_seconds, activity).observe(ran / 1000)
                case observation.Resumed(latency_ms=latency):
                    self.resume.observe(latency / 1000)
                case observation.ExecutionStarted(workflow=workflow):
                    child(self.started, workflow).inc()
                case observation.ExecutionClosed(workflow=workflow, status=status):
                    child(self.closed, workflow, status).inc()
                case observation.WentAsync(activity=activity):
                    child(self.went_async, activity).inc()
                case observation.Heartbeat(activity=activity):
                    child(self.heartbeats, activity).inc()
                case observation.TokenClose(call=call, outcome=outcome, code=code):
                    child(self.token_closes, call, outcome, code or "").inc()

    def _child(self, metric: _Labelled, *values: str) -> _Labelled:
        """``metric.labels(*values)``, kept: labels() validates and locks on every call."""
        key = (metric, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    async def exposition(self) -> bytes:
        """Every metric in the Prometheus text format, the store's gauges read now (one query, read aside)."""
        engine = self._engine
        now = engine.clock.now_ms()
        gauges = await engine.store.read_aside(lambda tx: tx.queue_gauges(now))
        # No await from here on: a concurrent scrape cannot swap the gauges under this one.
        self._gauges.latest = (gauges, now)
        return generate_latest(self.registry)


class _StoreGauges(Collector):
    """The gauges read from the store at the scrape (see :meth:`Metrics.exposition`)."""

    def __init__(self) -> None:
        self.latest: tuple[QueueGauges, int] | None = None

    def describe(self) -> Iterator[Metric]:
        return iter(())  # known only at the scrape: nothing for the registry to check at registration

    def collect(self) -> Iterator[Metric]:
        if self.latest is None:
            return
        gauges, now = self.latest
        for name, text, value in (
            ("tether_workflow_tasks_ready", "Workflow tasks due and not leased.", gauges.ready_workflow_tasks),
            ("tether_activity_attempts_ready", "Activity attempts queued for a worker.", gauges.ready_attempts),
            ("tether_timers_due", "Timers due that have not fired yet.", gauges.due_timers),
        ):
            yield GaugeMetricFamily(name, text, value=value)
        count = GaugeMetricFamily(
            "tether_activities_waiting_for_token", "Activities waiting for a token, by activity.", labels=["activity"]
        )
        age = GaugeMetricFamily(
            "tether_activities_waiting_oldest_age_seconds",
            "How long the longest-waiting activity of each name has waited (since its attempt started).",
            labels=["activity"],
        )
        for activity, (waiting, oldest_ms) in sorted(gauges.waiting.items()):
            count.add_metric([activity], waiting)
            age.add_metric([activity], max(0, now - oldest_ms) / 1000)
        yield count
        yield age
