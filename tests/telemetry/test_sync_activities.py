"""Sync activities record their outcome from the worker thread that ran them: metrics and log lines still come."""

from __future__ import annotations

import logging

import pytest

import tether
from tests.helpers.activity_tests import result_of
from tests.telemetry.scraping import metrics_server, scrape, value
from tether.engine.transition_log import TransitionLog
from tether.testing import TestEnvironment


@tether.activity(name="s.add")
def s_add(a: int, b: int) -> int:
    return a + b


@tether.workflow(name="s.sum")
async def s_sum(n: int) -> int:
    total = 0
    for i in range(1, n + 1):
        total = await s_add(total, i)
    return total


async def test_attempts_of_sync_activities_are_counted_and_timed() -> None:
    async with TestEnvironment(workflows=[s_sum], activities=[s_add]) as env, metrics_server(env) as http:
        assert await result_of(await env.client.start_workflow(s_sum, 3)) == 6
        samples = await scrape(http)

    assert value(samples, "tether_activity_attempts_started_total", activity="s.add") == 3
    assert value(samples, "tether_activity_attempts_total", activity="s.add", outcome="completed") == 3
    assert value(samples, "tether_activity_attempt_seconds_count", activity="s.add") == 3
    assert value(samples, "tether_workflow_resume_latency_seconds_count") == 3
    assert value(samples, "tether_executions_closed_total", workflow="s.sum", status="completed") == 1


async def test_each_sync_attempt_is_logged_in_order(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tether.transitions")
    async with TestEnvironment(workflows=[s_sum], activities=[s_add]) as env:
        TransitionLog.attach(env.engine)
        handle = await env.client.start_workflow(s_sum, 2)
        assert await result_of(handle) == 3

    lines = [r.getMessage() for r in caplog.records if r.name == "tether.transitions"]
    assert lines == [
        f"execution {handle.id} of s.sum started",
        f"activity s.add attempt 1 of {handle.id}: started",
        f"activity s.add attempt 1 of {handle.id}: completed",
        f"activity s.add attempt 1 of {handle.id}: started",
        f"activity s.add attempt 1 of {handle.id}: completed",
        f"execution {handle.id} of s.sum closed: completed",
    ]
