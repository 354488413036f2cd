"""Heartbeat details as checkpoints: stored, shown, handed to the next attempt, observed by the workflow."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, of_type, only_pending, post_context, result_of, snapshot
from tether.errors import ActivityFailed, InvalidPayload
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)
RETRY = tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1))


@tether.activity(heartbeat=HEARTBEAT, retry=RETRY)
async def cp_remote(job: str) -> Any:
    ctx = post_context()
    return {"resumed_from": ctx.checkpoint} if ctx.attempt == 3 else tether.make_async()


@tether.activity(retry=RETRY)
async def cp_breaks_after_progress(job: str) -> Any:
    ctx = post_context()
    if ctx.attempt == 1:
        await tether.heartbeat({"step": 1})
        await tether.heartbeat({"step": 2})
        raise RuntimeError("lost the connection at step 3")
    return {"resumed_from": ctx.checkpoint}


@tether.activity(retry=RETRY)
def cp_breaks_in_thread(job: str) -> Any:
    ctx = post_context()
    if ctx.attempt == 1:
        tether.heartbeat({"row": 10})
        tether.heartbeat({"row": 20})
        raise RuntimeError("disk full")
    return {"resumed_from": ctx.checkpoint}


@tether.activity(heartbeat=HEARTBEAT, retry=RETRY)
async def cp_beats_then_hangs(job: str) -> Any:
    ctx = post_context()
    if ctx.attempt == 1:
        await tether.heartbeat({"chunk": 7})
        return tether.make_async()
    return {"resumed_from": ctx.checkpoint}


@tether.activity(retry=RETRY)
async def cp_beats_unawaited_then_breaks(job: str) -> Any:
    ctx = post_context()
    if ctx.attempt == 1:
        tether.heartbeat({"step": 1})  # not awaited: the attempt ends before it is sent
        raise RuntimeError("lost the connection right after step 1")
    return {"resumed_from": ctx.checkpoint}


def _beat_from_a_helper_thread(step: int) -> None:
    tether.heartbeat({"step": step})


@tether.activity(retry=RETRY)
async def cp_beats_from_a_thread_then_breaks(job: str) -> Any:
    ctx = post_context()
    if ctx.attempt == 1:
        await asyncio.to_thread(_beat_from_a_helper_thread, 4)
        raise RuntimeError("lost the connection right after step 4")
    return {"resumed_from": ctx.checkpoint}


@tether.activity(retry=RETRY)
async def cp_reports_progress(job: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(retry=RETRY)
async def cp_beats_unawaited_then_returns(job: str) -> str:
    tether.heartbeat({"percent": 100})  # not awaited: the result is ready before it is sent
    return "imported"


ACTIVITIES = {
    "remote": cp_remote,
    "breaks_after_progress": cp_breaks_after_progress,
    "breaks_in_thread": cp_breaks_in_thread,
    "beats_then_hangs": cp_beats_then_hangs,
    "beats_unawaited_then_breaks": cp_beats_unawaited_then_breaks,
    "beats_from_a_thread_then_breaks": cp_beats_from_a_thread_then_breaks,
}


@tether.workflow
async def cp_run(name: str) -> Any:
    try:
        return await ACTIVITIES[name](name)
    except ActivityFailed as exc:
        return {"failed": exc.error}


@tether.workflow
async def cp_watch(unawaited: bool = False) -> dict[str, Any]:
    seen: list[Any] = []
    handle = tether.start_activity(cp_beats_unawaited_then_returns if unawaited else cp_reports_progress, "import")
    handle.on_heartbeat(seen.append)
    result = await handle
    return {"result": result, "seen": seen}


def environment(**options: Any) -> TestEnvironment:
    return TestEnvironment(
        workflows=[cp_run, cp_watch],
        activities=[*ACTIVITIES.values(), cp_reports_progress, cp_beats_unawaited_then_returns],
        **options,
    )


async def test_heartbeat_details_are_stored_last_wins_and_shown_by_describe() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        for page in (1, 2, 3):
            await env.advance(timedelta(seconds=2))
            await env.client.heartbeat_activity(ctx.token, {"page": page})

        pending = only_pending(await env.client.describe(box.id))
        assert pending.heartbeat_details == {"page": 3}
        assert pending.last_heartbeat_at == env.clock.now()


async def test_heartbeat_without_details_keeps_the_stored_details() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        await env.client.heartbeat_activity(ctx.token, {"page": 4})
        await env.advance(timedelta(seconds=2))
        await env.client.heartbeat_activity(ctx.token)

        pending = only_pending(await env.client.describe(box.id))
        assert pending.heartbeat_details == {"page": 4}
        assert pending.last_heartbeat_at == env.clock.now()


async def test_first_attempt_has_no_checkpoint() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)

        ctx = await box.context()

        assert (ctx.attempt, ctx.checkpoint) == (1, None)


async def test_next_attempt_resumes_from_the_last_details_after_an_exception() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "breaks_after_progress", id=box.id)

        assert await result_of(handle) == {"resumed_from": {"step": 2}}
        first, second = await box.context(), await box.context()
        assert [(first.attempt, first.checkpoint), (second.attempt, second.checkpoint)] == [
            (1, None),
            (2, {"step": 2}),
        ]


async def test_next_attempt_resumes_from_the_last_details_of_a_sync_activity() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "breaks_in_thread", id=box.id)

        assert await result_of(handle) == {"resumed_from": {"row": 20}}


async def test_details_of_a_heartbeat_not_awaited_reach_the_store_before_the_attempt_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with environment() as env:
        box = Mailbox()
        with caplog.at_level(logging.ERROR):
            handle = await env.client.start_workflow(cp_run, "beats_unawaited_then_breaks", id=box.id)

            assert await result_of(handle) == {"resumed_from": {"step": 1}}
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_heartbeat_from_a_thread_of_an_async_activity_is_recorded() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "beats_from_a_thread_then_breaks", id=box.id)

        assert await result_of(handle) == {"resumed_from": {"step": 4}}
        first = await box.context()
        assert first.attempt == 1
        (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
        assert failed.data["failure"]["message"] == "lost the connection right after step 4"


async def test_on_heartbeat_sees_heartbeats_not_awaited_before_the_result() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(cp_watch, True)

        assert await result_of(handle) == {"result": "imported", "seen": [{"percent": 100}]}


async def test_next_attempt_resumes_from_the_last_details_after_a_heartbeat_timeout() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "beats_then_hangs", id=box.id)

        assert await result_of(handle) == {"resumed_from": {"chunk": 7}}
        history = await env.client.history(box.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert failed.data["failure"]["kind"] == "heartbeat"


async def test_next_attempt_resumes_from_details_sent_by_token_after_a_heartbeat_timeout() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        first = await box.context()
        await env.wait_for_idle()

        await env.client.heartbeat_activity(first.token, {"offset": 512})
        await env.advance(HEARTBEAT)
        await env.advance(timedelta(seconds=1))

        second = await box.context()
        assert (second.attempt, second.checkpoint) == (2, {"offset": 512})


async def test_next_attempt_resumes_from_the_last_details_after_a_failure_by_token() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        first = await box.context()
        await env.wait_for_idle()

        await env.client.heartbeat_activity(first.token, {"page": 2})
        await env.client.heartbeat_activity(first.token, {"page": 3})
        await env.client.fail_activity(first.token, error="Transient", message="upstream busy")
        await env.advance(timedelta(seconds=1))

        second = await box.context()
        assert (second.attempt, second.checkpoint) == (2, {"page": 3})


async def test_checkpoint_carries_over_attempts_that_sent_no_new_details() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "remote", id=box.id)
        first = await box.context()
        await env.wait_for_idle()
        await env.client.heartbeat_activity(first.token, {"page": 9})
        await env.client.fail_activity(first.token, error="Transient")
        await env.advance(timedelta(seconds=1))
        second = await box.context()
        await env.wait_for_idle()

        await env.client.fail_activity(second.token, error="Transient")
        await env.advance(timedelta(seconds=2))

        third = await box.context()
        assert (third.attempt, third.checkpoint) == (3, {"page": 9})
        assert await result_of(handle) == {"resumed_from": {"page": 9}}


async def test_describe_shows_the_checkpoint_while_waiting_for_the_retry() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        await env.client.heartbeat_activity(ctx.token, {"page": 5})
        await env.client.fail_activity(ctx.token, error="Transient")

        pending = only_pending(await env.client.describe(box.id))
        assert (pending.state, pending.heartbeat_details) == (tether.ActivityState.BACKOFF, {"page": 5})


@pytest.mark.parametrize("cached", [2000, 0], ids=["cached", "replayed"])
async def test_on_heartbeat_delivers_details_to_the_workflow_in_order(cached: int) -> None:
    async with environment(max_cached_workflows=cached) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_watch, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        for percent in (10, 50, 90):
            await env.client.heartbeat_activity(ctx.token, {"percent": percent})
            await env.wait_for_idle()
        await env.client.complete_activity(ctx.token, "imported")

        assert await result_of(handle) == {
            "result": "imported",
            "seen": [{"percent": 10}, {"percent": 50}, {"percent": 90}],
        }


async def test_on_heartbeat_keeps_order_and_shows_the_latest_when_heartbeats_come_fast() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_watch, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        for percent in range(1, 21):
            await env.client.heartbeat_activity(ctx.token, {"percent": percent})
        await env.wait_for_idle()
        await env.client.complete_activity(ctx.token, "imported")

        outcome = await result_of(handle)
        seen = [d["percent"] for d in outcome["seen"]]
        assert seen == sorted(set(seen))
        assert seen[-1] == 20


async def test_heartbeats_are_not_written_to_history_unless_the_workflow_watches() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(cp_run, "remote", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        for page in range(5):
            await env.client.heartbeat_activity(ctx.token, {"page": page})
        await env.client.complete_activity(ctx.token, "done")

        assert await result_of(handle) == "done"
        assert of_type(await env.client.history(box.id), "ActivityHeartbeat") == []


async def test_unserialisable_heartbeat_details_by_token_are_refused_and_change_nothing() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(cp_run, "remote", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        await env.client.heartbeat_activity(ctx.token, {"page": 1})
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload):
            await env.client.heartbeat_activity(ctx.token, {"page": object()})

        assert await snapshot(env.client, box.id) == before
