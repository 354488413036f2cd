"""Resume: a failed, timed-out or terminated execution runs again from where it stopped."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.closing import terminate
from tests.helpers.workflows import TOKENS, events_of, new_id
from tether import errors
from tether.errors import ActivityFailed
from tether.model.events import EventType
from tether.model.records import WorkflowStatus
from tether.testing import TestEnvironment

RUNS: Counter[tuple[str, int]] = Counter()
"""How often each step of each execution ran: (execution id, step) -> runs."""
BROKEN: set[str] = set()
"""Executions whose step 3 fails (non-retryably), or whose workflow code has the bug."""


@tether.activity(retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)))
async def resume_step(step: int) -> int:
    execution_id = tether.context().execution_id
    RUNS[(execution_id, step)] += 1
    if step == 3 and execution_id in BROKEN:
        raise ActivityFailed("the card was declined", error="Declined", non_retryable=True)
    return step * 10


@tether.workflow
async def resume_five_steps() -> list[int]:
    return [await resume_step(step) for step in range(1, 6)]


CODE = {"buggy": False}
"""The deployed workflow code: with the bug, resume_buggy_code raises after step 2."""


@tether.workflow
async def resume_buggy_code() -> list[int]:
    done = [await resume_step(1), await resume_step(2)]
    if CODE["buggy"]:
        raise RuntimeError("a bug in the workflow")
    return [*done, await resume_step(3)]


@tether.workflow
async def resume_schedules_then_fails() -> list[int]:
    first = await resume_step(1)
    second = tether.start_activity(resume_step, 2)  # scheduled in the very task that fails
    if CODE["buggy"]:
        raise RuntimeError("a bug in the workflow")
    return [first, await second]


@tether.activity
async def resume_wait_for_person(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow(timeout=timedelta(days=1))
async def resume_after_deadline(order: str) -> list[Any]:
    first = await resume_step(1)
    await tether.sleep(timedelta(hours=2))
    approved: str = await resume_wait_for_person(order)
    return [first, approved]


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    resume_five_steps,
    resume_buggy_code,
    resume_schedules_then_fails,
    resume_after_deadline,
]
ACTIVITIES: list[tether.Activity[..., Any]] = [resume_step, resume_wait_for_person]


def env(cache: int = 2000) -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES, max_cached_workflows=cache)


def runs(execution_id: str) -> list[int]:
    return [RUNS[(execution_id, step)] for step in range(1, 6)]


@pytest.mark.parametrize("cache", [2000, 0], ids=["cached", "replay-every-task"])
async def test_resume_after_a_failed_step_repeats_no_completed_step_and_finishes(cache: int) -> None:
    async with env(cache) as e:
        execution_id = new_id("resume-step3")
        BROKEN.add(execution_id)
        handle = await e.client.start_workflow(resume_five_steps, id=execution_id)
        with pytest.raises(errors.WorkflowFailed):
            await handle.result()
        assert runs(execution_id) == [1, 1, 1, 0, 0]
        BROKEN.discard(execution_id)  # the card is fixed

        await e.client.resume(execution_id)

        assert await handle.result() == [10, 20, 30, 40, 50]
        assert runs(execution_id) == [1, 1, 2, 1, 1]
        history = await handle.history()
        [resumed] = events_of(history, EventType.EXECUTION_RESUMED)
        assert resumed.data["status"] == "failed"
        assert resumed.data["activities"] == [3]
        assert history[-1].type == EventType.WORKFLOW_COMPLETED
        attempts = [e.data["attempt"] for e in events_of(history, EventType.ACTIVITY_ATTEMPT_STARTED, activity_id=3)]
        assert attempts == [1, 2]
        description = await handle.describe()
        assert description.status == WorkflowStatus.COMPLETED
        assert description.error is None


async def test_a_resumed_step_gets_a_fresh_set_of_attempts() -> None:
    async with env() as e:
        execution_id = new_id("resume-fresh")
        BROKEN.add(execution_id)
        handle = await e.client.start_workflow(resume_five_steps, id=execution_id)
        with pytest.raises(errors.WorkflowFailed):
            await handle.result()

        # Still broken: the step runs its two attempts again (it fails non-retryably on the first).
        await e.client.resume(execution_id)
        with pytest.raises(errors.WorkflowFailed):
            await handle.result()
        assert runs(execution_id) == [1, 1, 2, 0, 0]
        BROKEN.discard(execution_id)
        await e.client.resume(execution_id)

        assert await handle.result() == [10, 20, 30, 40, 50]
        assert runs(execution_id) == [1, 1, 3, 1, 1]
        history = await handle.history()
        assert len(events_of(history, EventType.EXECUTION_RESUMED)) == 2


@pytest.mark.parametrize("cache", [2000, 0], ids=["cached", "replay-every-task"])
async def test_resume_after_a_bug_in_the_workflow_code_continues_with_the_fixed_code(cache: int) -> None:
    async with env(cache) as e:
        execution_id = new_id("resume-bug")
        CODE["buggy"] = True
        try:
            handle = await e.client.start_workflow(resume_buggy_code, id=execution_id)
            with pytest.raises(errors.WorkflowFailed) as failed:
                await handle.result()
            assert failed.value.error == "RuntimeError"
        finally:
            CODE["buggy"] = False
        await e.restart()  # the fixed code, deployed in a new worker

        await e.client.resume(execution_id)

        assert await handle.result() == [10, 20, 30]
        assert runs(execution_id) == [1, 1, 1, 0, 0]


async def test_resume_takes_new_ids_for_what_the_failing_task_had_scheduled() -> None:
    async with env() as e:
        execution_id = new_id("resume-new-ids")
        CODE["buggy"] = True
        try:
            handle = await e.client.start_workflow(resume_schedules_then_fails, id=execution_id)
            with pytest.raises(errors.WorkflowFailed):
                await handle.result()
        finally:
            CODE["buggy"] = False
        await e.restart()

        await e.client.resume(execution_id)

        assert await handle.result() == [10, 20]
        assert runs(execution_id)[:2] == [1, 1]
        history = await handle.history()
        scheduled = [event.data["activity_id"] for event in events_of(history, EventType.ACTIVITY_SCHEDULED)]
        assert scheduled == [1, 2, 3]  # the step the failed task scheduled (2) stays cancelled; 3 replaces it
        assert events_of(await handle.history(), EventType.EXECUTION_RESUMED)[0].data["activities"] == []


async def test_resume_of_a_timed_out_execution_continues_where_it_waited() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("resume-timed-out")
        handle = await e.client.start_workflow(resume_after_deadline, "o-1", id=execution_id)
        await e.advance(timedelta(hours=3))  # past its sleep
        old_token = await TOKENS.get(execution_id)
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()
        assert e.clock.now() == start + timedelta(days=1)

        await e.client.resume(execution_id)

        new_token = await TOKENS.get(execution_id)
        with pytest.raises(errors.StaleToken):
            await e.client.complete_activity(old_token, "late")
        description = await handle.describe()
        assert description.status == WorkflowStatus.RUNNING
        assert description.deadline is None
        assert description.closed_at is None
        await e.client.complete_activity(new_token, "ana")
        assert await handle.result() == [10, "ana"]
        assert runs(execution_id)[0] == 1
        history = await handle.history()
        assert len(events_of(history, EventType.TIMER_STARTED)) == 1


async def test_resume_re_arms_a_sleep_that_was_open_at_its_original_due_time() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("resume-sleep")
        handle = await e.client.start_workflow(resume_after_deadline, "o-2", id=execution_id, timeout=3600)
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()  # in the middle of its two-hour sleep
        assert e.clock.now() == start + timedelta(hours=1)

        await e.client.resume(execution_id)
        await e.advance(timedelta(hours=1))
        token = await TOKENS.get(execution_id)

        await e.client.complete_activity(token, "bo")
        assert await handle.result() == [10, "bo"]
        history = await handle.history()
        [fired] = events_of(history, EventType.TIMER_FIRED)
        assert fired.at == start + timedelta(hours=2)


async def test_resume_with_a_timeout_sets_a_new_deadline_from_now() -> None:
    async with env() as e:
        start = e.clock.now()
        execution_id = new_id("resume-new-deadline")
        handle = await e.client.start_workflow(resume_after_deadline, "o-3", id=execution_id)
        await e.advance(timedelta(hours=3))
        await TOKENS.get(execution_id)
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()
        resumed_at = e.clock.now()
        assert resumed_at == start + timedelta(days=1)

        await e.client.resume(execution_id, timeout=timedelta(hours=5))

        await TOKENS.get(execution_id)
        assert (await handle.describe()).deadline == resumed_at + timedelta(hours=5)
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result()
        description = await handle.describe()
        assert description.closed_at == resumed_at + timedelta(hours=5)
        [resumed] = events_of(await handle.history(), EventType.EXECUTION_RESUMED)
        assert resumed.data["timeout_ms"] == 5 * 3600 * 1000


async def test_resume_of_a_terminated_execution_reopens_its_cancelled_activity() -> None:
    async with env() as e:
        execution_id = new_id("resume-terminated")
        handle = await e.client.start_workflow(resume_after_deadline, "o-4", id=execution_id, timeout=None)
        await e.advance(timedelta(hours=3))
        old_token = await TOKENS.get(execution_id)
        await terminate(e.engine, execution_id, "stuck")
        with pytest.raises(errors.ActivityAlreadyClosed):
            await e.client.complete_activity(old_token, "late")

        await e.client.resume(execution_id)

        token = await TOKENS.get(execution_id)
        await e.client.complete_activity(token, "cy")
        assert await handle.result() == [10, "cy"]
        history = await handle.history()
        [resumed] = events_of(history, EventType.EXECUTION_RESUMED)
        [waiting] = events_of(history, EventType.ACTIVITY_SCHEDULED, name=resume_wait_for_person.name)
        assert resumed.data["status"] == "terminated"
        assert resumed.data["activities"] == [waiting.data["activity_id"]]


@pytest.mark.parametrize("status", ["running", "completed", "cancelled"])
async def test_resume_of_an_execution_that_did_not_fail_is_refused_and_changes_nothing(status: str) -> None:
    async with env() as e:
        execution_id = new_id(f"resume-{status}")
        handle = await e.client.start_workflow(resume_after_deadline, "o-5", id=execution_id)
        await e.advance(timedelta(hours=3))
        token = await TOKENS.get(execution_id)
        if status == "completed":
            await e.client.complete_activity(token, "di")
            await handle.result()
        elif status == "cancelled":
            await handle.cancel()
            with pytest.raises(errors.WorkflowCancelled):
                await handle.result()
        before = (await handle.describe(), await handle.history())

        with pytest.raises(errors.ExecutionNotResumable) as refused:
            await e.client.resume(execution_id)

        assert refused.value.status == status
        assert (await handle.describe(), await handle.history()) == before


async def test_resume_of_an_unknown_execution_is_refused() -> None:
    async with env() as e:
        with pytest.raises(errors.ExecutionNotFound):
            await e.client.resume(new_id("resume-nobody"))


async def test_two_resumes_at_once_resume_once() -> None:
    async with env() as e:
        execution_id = new_id("resume-twice")
        BROKEN.add(execution_id)
        handle = await e.client.start_workflow(resume_five_steps, id=execution_id)
        with pytest.raises(errors.WorkflowFailed):
            await handle.result()
        BROKEN.discard(execution_id)

        outcomes = await asyncio.gather(
            e.client.resume(execution_id), e.client.resume(execution_id), return_exceptions=True
        )

        refused = [o for o in outcomes if isinstance(o, errors.ExecutionNotResumable)]
        assert len(refused) == 1
        # Running again, or (under load, the second call late) already finished: not resumable either way.
        assert refused[0].status in ("running", "completed")
        assert await handle.result() == [10, 20, 30, 40, 50]
        assert runs(execution_id) == [1, 1, 2, 1, 1]
        assert len(events_of(await handle.history(), EventType.EXECUTION_RESUMED)) == 1
