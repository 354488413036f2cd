"""Prometheus metrics of one engine: counters and histograms fed by its facts, store gauges read at each scrape.

Imported only where metrics are served (``tether server``, ``tether worker --metrics-port``):
prometheus_client is not loaded otherwise. Each :class:`Metrics` has its own registry, so
several engines in one process (tests, an embedded server) never share counters. Counters
count what this process's engine did; the gauges read the store, so every process that
serves them shows the same queues.

The counters and histograms are kept as plain numbers under one lock and handed to
prometheus_client as metric families at each scrape (a custom collector), exposed exactly as
its own ``Counter`` and ``Histogram`` would expose them: a token call observes several facts,
and prometheus_client's metric objects take a lock and several Python calls for each count.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import INF, floatToGoString

from tether.engine import observation
from tether.engine.core import EngineCore
from tether.store.rows import QueueGauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of the text exposition format."""

_WAITS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
"""Seconds: queueing and resume latencies, from a millisecond to an hour."""
_RUNS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)
"""Seconds: attempts, which may wait days for their token."""
_DEFAULT = Histogram.DEFAULT_BUCKETS[:-1]
"""prometheus_client's default buckets, its infinite one left to :class:`_Histogram` (store transactions)."""


class Metrics:
    """The metrics of one engine; created once, it observes the engine until :meth:`close`."""

    def __init__(self, engine: EngineCore) -> None:
        self._engine = engine
        self._lock = threading.Lock()  # facts come from the store's thread and the event loop's
        self.started = _Counter("tether_executions_started", "Executions started.", ["workflow"])
        self.closed = _Counter("tether_executions_closed", "Runs closed, by final status.", ["workflow", "status"])
        self.attempts_started = _Counter("tether_activity_attempts_started", "Activity attempts started.", ["activity"])
        self.attempts = _Counter(
            "tether_activity_attempts",
            "Activity attempts ended, by outcome: completed, failed, cancelled, timed_out_<kind>.",
            ["activity", "outcome"],
        )
        self.went_async = _Counter(
            "tether_activity_attempts_went_async", "Attempts that returned make_async().", ["activity"]
        )
        self.heartbeats = _Counter("tether_activity_heartbeats", "Heartbeats recorded.", ["activity"])
        self.token_closes = _Counter(
            "tether_token_closes",
            "Closes by token (complete, fail, report_cancelled): recorded, repeat, or refused with an error code.",
            ["call", "outcome", "code"],
        )
        self.schedule_to_start = _Histogram(
            "tether_activity_schedule_to_start_seconds",
            "How long a first attempt stood queued before a worker started it.",
            ["activity"],
            _WAITS,
        )
        self.attempt_seconds = _Histogram(
            "tether_activity_attempt_seconds",
            "How long attempts took from start to end (waiting for a token included).",
            ["activity"],
            _RUNS,
        )
        self.resume = _Histogram(
            "tether_workflow_resume_latency_seconds",
            "From an activity's close to the workflow task that hands it to the workflow.",
            [],
            _WAITS,
        )
        self.transactions = _Histogram(
            "tether_store_transaction_seconds", "Writing store transactions, queueing included.", [], _DEFAULT
        )
        self.transaction_failures = _Counter(
            "tether_store_transaction_failures", "Writing transactions the store failed, by error.", ["error"]
        )
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            observation.StoreTransaction: self._transaction,
            observation.AttemptStarted: self._attempt_started,
            observation.AttemptClosed: self._attempt_closed,
            observation.Resumed: self._resumed,
            observation.ExecutionStarted: self._execution_started,
            observation.ExecutionClosed: self._execution_closed,
            observation.WentAsync: self._went_async,
            observation.Heartbeat: self._heartbeat,
            observation.TokenClose: self._token_close,
        }
        self.registry = CollectorRegistry()
        self.registry.register(
            _Counted(
                self._lock,
                (
                    self.started,
                    self.closed,
                    self.attempts_started,
                    self.attempts,
                    self.went_async,
                    self.heartbeats,
                    self.token_closes,
                    self.schedule_to_start,
                    self.attempt_seconds,
                    self.resume,
                    self.transactions,
                    self.transaction_failures,
                ),
            )
        )
        self._gauges = _StoreGauges()
        self.registry.register(self._gauges)
        engine.add_observer(self)

    def close(self) -> None:
        """Stop observing the engine."""
        self._engine.remove_observer(self)

    def observe(self, facts: Sequence[observation.Fact], caller: str | None) -> None:  # noqa: D102
        handlers = self._handlers
        with self._lock:
            for fact in facts:
                handler = handlers.get(type(fact))
                if handler is not None:
                    handler(fact)

    def _transaction(self, fact: observation.StoreTransaction) -> None:
        self.transactions.observe((), fact.seconds)
        if fact.error is not None:
            self.transaction_failures.inc((fact.error,))

    def _attempt_started(self, fact: observation.AttemptStarted) -> None:
        self.attempts_started.inc((fact.activity,))
        if fact.waited_ms is not None:
            self.schedule_to_start.observe((fact.activity,), fact.waited_ms / 1000)

    def _attempt_closed(self, fact: observation.AttemptClosed) -> None:
        self.attempts.inc((fact.activity, fact.outcome))
        if fact.ran_ms is not None:
            self.attempt_seconds.observe((fact.activity,), fact.ran_ms / 1000)

    def _resumed(self, fact: observation.Resumed) -> None:
        self.resume.observe((), fact.latency_ms / 1000)

    def _execution_started(self, fact: observation.ExecutionStarted) -> None:
        self.started.inc((fact.workflow,))

    def _execution_closed(self, fact: observation.ExecutionClosed) -> None:
        self.closed.inc((fact.workflow, fact.status))

    def _went_async(self, fact: observation.WentAsync) -> None:
        self.went_async.inc((fact.activity,))

    def _heartbeat(self, fact: observation.Heartbeat) -> None:
        self.heartbeats.inc((fact.activity,))

    def _token_close(self, fact: observation.TokenClose) -> None:
        self.token_closes.inc((fact.call, fact.outcome, fact.code or ""))

    async def exposition(self) -> bytes:
        """Every metric in the Prometheus text format, the store's gauges read now (one query, read aside)."""
        engine = self._engine
        now = engine.clock.now_ms()
        gauges = await engine.store.read_aside(lambda tx: tx.queue_gauges(now))
        # No await from here on: a concurrent scrape cannot swap the gauges under this one.
        self._gauges.latest = (gauges, now)
        return generate_latest(self.registry)


class _Counter:
    """A counter by label values, exposed as prometheus_client's ``Counter`` exposes one.

    Changed only under the owning :class:`Metrics`' lock.
    """

    __slots__ = ("documentation", "labels", "name", "series")

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.series: dict[tuple[str, ...], list[float]] = {}
        """Label values → [count, created]: created is when the series was first counted (epoch seconds)."""

    def inc(self, values: tuple[str, ...]) -> None:
        found = self.series.get(values)
        if found is None:
            self.series[values] = [1.0, time.time()]
        else:
            found[0] += 1.0

    def metric(self, created: bool) -> Metric:
        """The family as prometheus_client's ``Counter.collect`` builds it."""
        metric = Metric(self.name, self.documentation, "counter")
        for values, (count, since) in self.series.items():
            labels = dict(zip(self.labels, values, strict=True))
            metric.add_sample(self.name + "_total", labels, count)
            if created:
                metric.add_sample(self.name + "_created", dict(labels), since)
        return metric


class _Observed:
    """One series of a histogram: a count per bucket (not cumulative), their sum, when it began."""

    __slots__ = ("buckets", "created", "sum")

    def __init__(self, size: int) -> None:
        self.buckets = [0.0] * size
        self.sum = 0.0
        self.created = time.time()


class _Histogram:
    """A histogram by label values, exposed as prometheus_client's ``Histogram`` exposes one.

    Without labels its one series exists, all zero, from the start (as prometheus_client's
    does). Changed only under the owning :class:`Metrics`' lock.
    """

    __slots__ = ("bounds", "documentation", "labels", "name", "series", "spelled")

    def __init__(self, name: str, documentation: str, labels: Sequence[str], bounds: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.bounds = (*(float(bound) for bound in bounds), INF)
        self.spelled = tuple(floatToGoString(bound) for bound in self.bounds)  # type: ignore[no-untyped-call]
        self.series: dict[tuple[str, ...], _Observed] = {}
        if not self.labels:
            self.series[()] = _Observed(len(self.bounds))

    def observe(self, values: tuple[str, ...], amount: float) -> None:
        found = self.series.get(values)
        if found is None:
            found = self.series[values] = _Observed(len(self.bounds))
        found.sum += amount
        found.buckets[bisect.bisect_left(self.bounds, amount)] += 1.0  # the first bound >= amount

    def metric(self, created: bool) -> Metric:
        """The family as prometheus_client's ``Histogram.collect`` builds it."""
        metric = Metric(self.name, self.documentation, "histogram")
        name = self.name
        for values, observed in self.series.items():
            labels = list(zip(self.labels, values, strict=True))
            total = 0.0
            for bound, count in zip(self.spelled, observed.buckets, strict=True):
                total += count
                metric.add_sample(name + "_bucket", dict([*labels, ("le", bound)]), total)
            metric.add_sample(name + "_count", dict(labels), total)
            metric.add_sample(name + "_sum", dict(labels), observed.sum)
            if created:
                metric.add_sample(name + "_created", dict(labels), observed.created)
        return metric


class _Counted(Collector):
    """The counters and histograms of one :class:`Metrics`, read under its lock at each scrape."""

    def __init__(self, lock: threading.Lock, families: Sequence[_Counter | _Histogram]) -> None:
        self._lock = lock
        self._families = families

    def describe(self) -> Iterator[Metric]:
        # The names, for the registry to refuse a clash (a counter's _total and _created, a histogram's series).
        return iter([family.metric(True) for family in self._families])

    def collect(self) -> Iterator[Metric]:
        created: bool = prometheus_metrics._use_created  # prometheus_client's own setting (an environment variable)
        with self._lock:
            return iter([family.metric(created) for family in self._families])


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
