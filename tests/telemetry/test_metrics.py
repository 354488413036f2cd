"""/metrics after real workflows: counters by workflow, activity and outcome, histograms, the store's gauges."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, post_context, result_of
from tests.telemetry.scraping import metrics_server, scrape, value
from tether.errors import ActivityAlreadyClosed, ActivityFailed, WorkflowFailed
from tether.testing import TestEnvironment


@tether.activity(name="m.work")
async def m_work(kind: str) -> str:
    return kind


@tether.activity(name="m.flaky", retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)))
async def m_flaky(kind: str) -> str:
    raise RuntimeError("broken")


@tether.activity(name="m.silent", heartbeat=timedelta(seconds=10), retry=tether.RetryPolicy(max_attempts=1))
async def m_silent(kind: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="m.approve")
async def m_approve(kind: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="m.unserved")
async def m_unserved(kind: str) -> str:
    return "no worker of these tests runs this activity"


@tether.workflow(name="m.flow")
async def m_flow(kind: str) -> str:
    activity = {"work": m_work, "flaky": m_flaky, "silent": m_silent, "approve": m_approve, "unserved": m_unserved}
    try:
        return await activity[kind](kind)
    except ActivityFailed as exc:
        if kind == "flaky":
            raise
        return f"failed: {exc.error}"


@tether.workflow(name="m.unserved_flow")
async def m_unserved_flow() -> str:
    return "no worker of these tests runs this workflow"


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[m_flow], activities=[m_work, m_flaky, m_silent, m_approve])


async def test_counters_count_executions_attempts_by_outcome_token_closes_and_heartbeats() -> None:
    async with environment() as env, metrics_server(env) as http:
        assert await result_of(await env.client.start_workflow(m_flow, "work")) == "work"
        with pytest.raises(WorkflowFailed):
            await result_of(await env.client.start_workflow(m_flow, "flaky"))

        silent = Mailbox()
        timed_out = await env.client.start_workflow(m_flow, "silent", id=silent.id)
        await silent.context()
        await env.wait_for_idle()
        await env.advance(timedelta(seconds=10))  # no heartbeat came: the attempt times out
        assert await result_of(timed_out) == "failed: ActivityTimeout"

        approve = Mailbox()
        approved = await env.client.start_workflow(m_flow, "approve", id=approve.id)
        token = (await approve.context()).token
        await env.client.heartbeat_activity(token, {"step": 1})
        assert await env.client.complete_activity(token, "yes") is True
        assert await env.client.complete_activity(token, "yes") is False  # the same call again
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.complete_activity(token, "no")
        assert await result_of(approved) == "yes"

        samples = await scrape(http)

    assert value(samples, "tether_executions_started_total", workflow="m.flow") == 4
    assert value(samples, "tether_executions_closed_total", workflow="m.flow", status="completed") == 3
    assert value(samples, "tether_executions_closed_total", workflow="m.flow", status="failed") == 1
    assert value(samples, "tether_activity_attempts_total", activity="m.work", outcome="completed") == 1
    assert value(samples, "tether_activity_attempts_total", activity="m.flaky", outcome="failed") == 2
    assert value(samples, "tether_activity_attempts_total", activity="m.silent", outcome="timed_out_heartbeat") == 1
    assert value(samples, "tether_activity_attempts_total", activity="m.approve", outcome="completed") == 1
    assert value(samples, "tether_activity_attempts_started_total", activity="m.flaky") == 2
    assert value(samples, "tether_activity_attempts_went_async_total", activity="m.approve") == 1
    assert value(samples, "tether_activity_heartbeats_total", activity="m.approve") == 1
    closes = {"call": "complete", "code": ""}
    assert value(samples, "tether_token_closes_total", **closes, outcome="recorded") == 1
    assert value(samples, "tether_token_closes_total", **closes, outcome="repeat") == 1
    refused = {"call": "complete", "outcome": "refused", "code": "activity_already_closed"}
    assert value(samples, "tether_token_closes_total", **refused) == 1


async def test_histograms_count_schedule_to_start_attempts_resumes_and_store_transactions() -> None:
    async with environment() as env, metrics_server(env) as http:
        approve = Mailbox()
        handle = await env.client.start_workflow(m_flow, "approve", id=approve.id)
        token = (await approve.context()).token
        await env.wait_for_idle()
        await env.advance(timedelta(minutes=2))  # the attempt waits two minutes for its token
        await env.client.complete_activity(token, "yes")
        await result_of(handle)

        samples = await scrape(http)

    assert value(samples, "tether_activity_schedule_to_start_seconds_count", activity="m.approve") == 1
    assert value(samples, "tether_activity_attempt_seconds_count", activity="m.approve") == 1
    # Its two minutes on the virtual clock fall in the bucket up to 300 s, not in that up to 60 s.
    assert value(samples, "tether_activity_attempt_seconds_bucket", activity="m.approve", le="60.0") == 0
    assert value(samples, "tether_activity_attempt_seconds_bucket", activity="m.approve", le="300.0") == 1
    assert value(samples, "tether_workflow_resume_latency_seconds_count") == 1
    assert value(samples, "tether_store_transaction_seconds_count") > 0


async def test_the_oldest_wait_for_a_token_grows_with_the_clock_per_activity_name() -> None:
    async with environment() as env, metrics_server(env) as http:
        for _ in range(2):
            approve = Mailbox()
            await env.client.start_workflow(m_flow, "approve", id=approve.id)
            await approve.context()
            await env.wait_for_idle()
            await env.advance(timedelta(minutes=1))
        before = await scrape(http)
        await env.advance(timedelta(hours=1))
        after = await scrape(http)

    assert value(before, "tether_activities_waiting_for_token", activity="m.approve") == 2
    assert value(before, "tether_activities_waiting_oldest_age_seconds", activity="m.approve") == 120
    assert value(after, "tether_activities_waiting_oldest_age_seconds", activity="m.approve") == 3720
    assert ("tether_activities_waiting_for_token", (("activity", "m.silent"),)) not in after


async def test_queue_depths_show_work_no_worker_takes() -> None:
    async with environment() as env, metrics_server(env) as http:
        empty = await scrape(http)
        await env.client.start_workflow(m_unserved_flow)  # no worker here runs this workflow
        await env.client.start_workflow(m_flow, "unserved")  # nor this activity
        await env.wait_for_idle()
        queued = await scrape(http)

    assert value(empty, "tether_workflow_tasks_ready") == 0
    assert value(empty, "tether_activity_attempts_ready") == 0
    assert ("tether_timers_due", ()) in empty
    assert value(queued, "tether_workflow_tasks_ready") == 1
    assert value(queued, "tether_activity_attempts_ready") == 1
