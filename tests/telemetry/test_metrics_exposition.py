"""/metrics' counters and histograms read exactly as prometheus_client's own Counter and Histogram would.

The engine's metrics keep plain numbers and build the families at each scrape; these tests
feed the same facts to them and to prometheus_client's metric objects made with the same
names, help, labels and buckets, and compare the two scrapes byte for byte (the ``_created``
series' times aside: they are when each series began).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import metrics as prometheus_metrics

from tether.engine import observation
from tether.engine.metrics import Metrics, _Counter, _Histogram
from tether.testing import TestEnvironment

FACTS: list[observation.Fact] = [
    observation.ExecutionStarted("e1", "orders.flow"),
    observation.ExecutionStarted("e2", "orders.flow"),
    observation.ExecutionStarted("e3", 'odd "name"\\ with\nnewline'),  # escaped the same way
    observation.ExecutionClosed("e1", "orders.flow", "completed"),
    observation.ExecutionClosed("e2", "orders.flow", "failed"),
    observation.AttemptStarted("e1", 1, 1, "charge", waited_ms=None),
    observation.AttemptStarted("e1", 1, 2, "charge", waited_ms=5),  # on a bound: its own bucket
    observation.AttemptStarted("e2", 1, 1, "ship", waited_ms=7_200_000),  # above every bound: +Inf
    observation.AttemptClosed("e1", 1, 1, "charge", "failed", ran_ms=12),
    observation.AttemptClosed("e1", 1, 2, "charge", "completed", ran_ms=None),
    observation.AttemptClosed("e2", 1, 1, "ship", "timed_out_heartbeat", ran_ms=86_400_000),
    observation.WentAsync("e2", 1, 1, "ship"),
    observation.Heartbeat("e2", 1, 1, "ship"),
    observation.Heartbeat("e2", 1, 1, "ship"),
    observation.Resumed("e1", 1, latency_ms=0),
    observation.Resumed("e1", 1, latency_ms=1),
    observation.TokenClose("complete", "recorded"),
    observation.TokenClose("complete", "refused", "activity_already_closed"),
    observation.TokenClose("fail", "repeat"),
    observation.StoreTransaction(0.0001),
    observation.StoreTransaction(0.075),
    observation.StoreTransaction(12.5, error="StoreUnavailable"),
]


def _reference(metrics: Metrics) -> tuple[CollectorRegistry, Iterator[None]]:
    """prometheus_client's own metric objects, made like each of ``metrics``' families, fed FACTS."""
    registry = CollectorRegistry()
    made: dict[str, Counter | Histogram] = {}
    for family in (
        metrics.started,
        metrics.closed,
        metrics.attempts_started,
        metrics.attempts,
        metrics.went_async,
        metrics.heartbeats,
        metrics.token_closes,
        metrics.schedule_to_start,
        metrics.attempt_seconds,
        metrics.resume,
        metrics.transactions,
        metrics.transaction_failures,
    ):
        if isinstance(family, _Counter):
            made[family.name] = Counter(family.name, family.documentation, family.labels, registry=registry)
        else:
            assert isinstance(family, _Histogram)
            made[family.name] = Histogram(
                family.name, family.documentation, family.labels, buckets=family.bounds, registry=registry
            )

    def count(name: str, *labels: str) -> None:
        metric = made[name]
        assert isinstance(metric, Counter)
        metric.labels(*labels).inc()

    def observe(name: str, amount: float, *labels: str) -> None:
        metric = made[name]
        assert isinstance(metric, Histogram)
        (metric.labels(*labels) if labels else metric).observe(amount)

    def feed() -> Iterator[None]:
        for fact in FACTS:
            match fact:
                case observation.ExecutionStarted(workflow=workflow):
                    count("tether_executions_started", workflow)
                case observation.ExecutionClosed(workflow=workflow, status=status):
                    count("tether_executions_closed", workflow, status)
                case observation.AttemptStarted(activity=activity, waited_ms=waited):
                    count("tether_activity_attempts_started", activity)
                    if waited is not None:
                        observe("tether_activity_schedule_to_start_seconds", waited / 1000, activity)
                case observation.AttemptClosed(activity=activity, outcome=outcome, ran_ms=ran):
                    count("tether_activity_attempts", activity, outcome)
                    if ran is not None:
                        observe("tether_activity_attempt_seconds", ran / 1000, activity)
                case observation.WentAsync(activity=activity):
                    count("tether_activity_attempts_went_async", activity)
                case observation.Heartbeat(activity=activity):
                    count("tether_activity_heartbeats", activity)
                case observation.Resumed(latency_ms=latency):
                    observe("tether_workflow_resume_latency_seconds", latency / 1000)
                case observation.TokenClose(call=call, outcome=outcome, code=code):
                    count("tether_token_closes", call, outcome, code or "")
                case observation.StoreTransaction(seconds=seconds, error=error):
                    observe("tether_store_transaction_seconds", seconds)
                    if error is not None:
                        count("tether_store_transaction_failures", error)
            yield

    return registry, feed()


def _without_times(scrape: bytes) -> str:
    """A scrape with each ``_created`` sample's value (when its series began) left out."""
    return re.sub(r"^(\w+_created(\{.*\})?) \S+$", r"\1 T", scrape.decode(), flags=re.MULTILINE)


@pytest.mark.parametrize("created", [True, False], ids=["created", "without-created"])
async def test_a_scrape_reads_as_prometheus_clients_own_metrics_would(
    created: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prometheus_metrics, "_use_created", created)  # as PROMETHEUS_DISABLE_CREATED_SERIES sets it
    async with TestEnvironment() as env:
        metrics = Metrics(env.engine)
        try:
            registry, feeding = _reference(metrics)
            assert _without_times(generate_latest(metrics.registry)) == _without_times(generate_latest(registry))
            for step, fact in zip(feeding, FACTS, strict=True):  # one fact at a time, the scrapes alike after each
                del step
                metrics.observe([fact], None)
                ours, theirs = generate_latest(metrics.registry), generate_latest(registry)
                assert _without_times(ours) == _without_times(theirs)
        finally:
            metrics.close()
    assert b"_created" in ours if created else b"_created" not in ours
    assert b'tether_activity_schedule_to_start_seconds_bucket{activity="charge",le="0.005"} 1.0' in ours
    assert b'tether_activity_schedule_to_start_seconds_bucket{activity="ship",le="+Inf"} 1.0' in ours
    assert b"tether_store_transaction_seconds_sum 12.5751" in ours


async def test_a_scrape_while_facts_arrive_from_other_threads_reads_whole_series() -> None:
    # Threads switch every microsecond: a scrape walking the series while a fact adds one would meet it.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    async with TestEnvironment() as env:
        metrics = Metrics(env.engine)
        try:

            def beat(thread: int) -> None:
                for i in range(3000):
                    metrics.observe([observation.Heartbeat("e", 1, 1, f"a{thread}-{i % 500}")], None)

            threads = [threading.Thread(target=beat, args=(k,)) for k in range(3)]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                generate_latest(metrics.registry)
            for thread in threads:
                thread.join()
            scrape = generate_latest(metrics.registry).decode()
        finally:
            metrics.close()
            sys.setswitchinterval(switch)
    counted = re.findall(r'^tether_activity_heartbeats_total\{activity="a\d-\d+"\} (\S+)$', scrape, re.MULTILINE)
    assert len(counted) == 1500
    assert sum(float(value) for value in counted) == 9000
