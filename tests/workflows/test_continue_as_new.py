"""Continue-as-new: a run ends as "continued" and the execution goes on in a new run with an empty history."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id, types_of
from tether.client._embedded import open_store
from tether.engine.engine import Engine
from tether.errors import ExecutionNotFound, InvalidPayload, WorkflowCancelled, WorkflowFailed
from tether.model.clock import VirtualClock
from tether.model.events import Command, EventType
from tether.testing import TestEnvironment

ADDED: list[int] = []


@tether.activity
async def can_add(value: int) -> int:
    ADDED.append(value)
    return value + 1


@tether.workflow
async def can_count(value: int, runs_left: int) -> int:
    value = await can_add(value)
    if runs_left > 0:
        raise tether.ContinueAsNew(value, runs_left - 1)
    return value


@tether.workflow
async def can_count_by_keyword(value: int, runs_left: int) -> int:
    value = await can_add(value)
    if runs_left > 0:
        tether.continue_as_new(value=value, runs_left=runs_left - 1)
    return value


@tether.workflow
async def can_sleep_forever(turn: int) -> int:
    await tether.sleep(timedelta(hours=1))
    tether.continue_as_new(turn + 1)


@tether.activity
async def can_approve(turn: int) -> str:
    TOKENS.put(f"turn-{turn}", tether.context().token)
    return tether.make_async()


@tether.workflow
async def can_wait_each_turn(turn: int) -> str:
    answer = await can_approve(turn)
    if answer == "again":
        tether.continue_as_new(turn + 1)
    return f"{answer} at turn {turn}"


@tether.workflow
async def can_bad_arguments(value: int) -> int:
    raise tether.ContinueAsNew("not a number")


@tether.workflow
async def can_swallows_exceptions(value: int) -> int:
    if value >= 3:
        return value
    try:
        tether.continue_as_new(value + 1)
    except Exception:  # the point: ContinueAsNew is not an Exception
        return -1


async def test_a_loop_continues_as_new_and_the_first_handle_gets_the_last_result() -> None:
    ADDED.clear()
    async with TestEnvironment(workflows=[can_count], activities=[can_add]) as env:
        execution_id = new_id("can")
        handle = await env.client.start_workflow(can_count, 0, 4, id=execution_id)
        assert await handle.result() == 5
        assert ADDED == [0, 1, 2, 3, 4]  # one activity per run, none repeated

        latest = await env.client.describe(execution_id)
        assert (latest.id, latest.run, latest.status) == (execution_id, 5, tether.WorkflowStatus.COMPLETED)
        assert latest.run_id == f"{execution_id}#run-5"
        assert latest.previous_run_id == f"{execution_id}#run-4"
        assert latest.next_run_id is None
        assert latest.input == [4, 0]

        first = await env.client.describe(execution_id, run=1)
        assert (first.run, first.status, first.run_id) == (1, tether.WorkflowStatus.CONTINUED, execution_id)
        assert first.next_run_id == f"{execution_id}#run-2"
        assert first.previous_run_id is None

        for run in range(1, 6):
            history = await env.client.history(execution_id, run=run)
            assert types_of(history)[0] == "WorkflowStarted"
            assert len(history) <= 8, f"run {run} has a history of {len(history)} events"
            closing = history[-1]
            if run < 5:
                assert closing.type == "WorkflowContinuedAsNew"
                assert closing.data["args"] == [run, 4 - run]
                assert closing.data["next_run_id"] == f"{execution_id}#run-{run + 1}"
            else:
                assert closing.type == "WorkflowCompleted"
        second = await env.client.history(execution_id, run=2)
        assert second[0].data["previous_run_id"] == execution_id
        assert second[0].data["run"] == 2
        with pytest.raises(ExecutionNotFound) as missing:
            await env.client.describe(execution_id, run=6)
        assert (missing.value.execution_id, missing.value.message) == (
            execution_id,
            f"execution {execution_id!r} has no run 6",
        )


async def test_keyword_arguments_of_the_next_run_are_bound_by_the_signature() -> None:
    async with TestEnvironment(workflows=[can_count_by_keyword], activities=[can_add]) as env:
        handle = await env.client.start_workflow(can_count_by_keyword, 10, 2, id=new_id("can"))
        assert await handle.result() == 13


async def test_a_handle_taken_later_follows_the_chain_and_cancel_reaches_the_latest_run() -> None:
    async with TestEnvironment(workflows=[can_sleep_forever]) as env:
        execution_id = new_id("can")
        await env.client.start_workflow(can_sleep_forever, 0, id=execution_id)
        await env.advance(timedelta(hours=3, minutes=30))
        running = await env.client.describe(execution_id)
        assert (running.run, running.status) == (4, tether.WorkflowStatus.RUNNING)
        assert running.input == [3]

        await env.client.cancel_workflow(execution_id)
        with pytest.raises(WorkflowCancelled):
            await env.client.get_handle(execution_id).result()
        cancelled = await env.client.describe(execution_id)
        assert (cancelled.run, cancelled.status) == (4, tether.WorkflowStatus.CANCELLED)
        for run in (1, 2, 3):
            assert (await env.client.describe(execution_id, run=run)).status == tether.WorkflowStatus.CONTINUED


async def test_tokens_of_an_earlier_run_are_refused_after_it_continued() -> None:
    async with TestEnvironment(workflows=[can_wait_each_turn], activities=[can_approve]) as env:
        execution_id = new_id("can")
        handle = await env.client.start_workflow(can_wait_each_turn, 1, id=execution_id)
        first_token = await TOKENS.get("turn-1")
        assert await env.client.complete_activity(first_token, "again")
        second_token = await TOKENS.get("turn-2")
        # The first run's activity closed with its run: its token (activity 1, attempt 1, like the
        # second run's) names the first run and is refused.
        with pytest.raises(tether.errors.ActivityAlreadyClosed):
            await env.client.complete_activity(first_token, "late")
        assert await env.client.complete_activity(second_token, "done")
        assert await handle.result() == "done at turn 2"


async def test_arguments_the_workflow_does_not_take_fail_the_run() -> None:
    async with TestEnvironment(workflows=[can_bad_arguments]) as env:
        execution_id = new_id("can")
        handle = await env.client.start_workflow(can_bad_arguments, 1, id=execution_id)
        with pytest.raises(WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error == "InvalidPayload"
        assert (await env.client.describe(execution_id)).run == 1


async def test_except_exception_in_workflow_code_does_not_swallow_continue_as_new() -> None:
    async with TestEnvironment(workflows=[can_swallows_exceptions]) as env:
        execution_id = new_id("can")
        handle = await env.client.start_workflow(can_swallows_exceptions, 1, id=execution_id)
        assert await handle.result() == 3
        assert (await env.client.describe(execution_id)).run == 3


async def test_ids_of_later_runs_are_reserved() -> None:
    async with TestEnvironment(workflows=[can_count], activities=[can_add]) as env:
        with pytest.raises(InvalidPayload):
            await env.client.start_workflow(can_count, 0, 0, id="order#run-2")


async def test_a_cancellation_the_continuing_task_did_not_see_applies_to_the_next_run(store_url: str) -> None:
    clock = VirtualClock()
    store = await open_store(store_url)
    try:
        engine = Engine(store, clock)
        execution_id = new_id("can")
        assert await engine.start_workflow(execution_id, can_sleep_forever.name, "[0]")
        (task,) = await engine.claim_workflow_tasks(
            owner="w", workflows_=[can_sleep_forever.name], limit=1, lease_ms=60_000, cached_seq={}
        )
        # The cancellation arrives after the task read its events, and the task continues as new.
        await engine.cancel_workflow(execution_id)
        continued = Command(EventType.WORKFLOW_CONTINUED_AS_NEW, {"args": [1]})
        assert await engine.complete_workflow_task(
            execution_id=execution_id, owner="w", leased_until_ms=task.leased_until_ms, seen_seq=task.events[-1].seq,
            task_now_ms=clock.now_ms(), commands=[continued],
        ) is not None  # fmt: skip

        first = await engine.history(execution_id, run=1)
        assert types_of(first) == [
            "WorkflowStarted", "WorkflowCancelRequested", "WorkflowTaskCompleted", "WorkflowContinuedAsNew",
        ]  # fmt: skip
        second = await engine.describe(execution_id)
        assert (second.run, second.cancel_requested) == (2, True)
        assert types_of(await engine.history(execution_id)) == ["WorkflowStarted", "WorkflowCancelRequested"]

        # A cancellation the continuing task saw was consumed by that run: the next starts clean.
        (task,) = await engine.claim_workflow_tasks(
            owner="w", workflows_=[can_sleep_forever.name], limit=10, lease_ms=60_000, cached_seq={}
        )  # the first run's task, queued again by the cancellation, is dropped: that run closed
        assert task.execution_id == f"{execution_id}#run-2"
        assert [e.type for e in task.events] == [EventType.WORKFLOW_STARTED, EventType.WORKFLOW_CANCEL_REQUESTED]
        assert await engine.complete_workflow_task(
            execution_id=task.execution_id, owner="w", leased_until_ms=task.leased_until_ms,
            seen_seq=task.events[-1].seq, task_now_ms=clock.now_ms(),
            commands=[Command(EventType.WORKFLOW_CONTINUED_AS_NEW, {"args": [2]})],
        ) is not None  # fmt: skip
        third = await engine.describe(execution_id)
        assert (third.run, third.cancel_requested) == (3, False)
        assert events_of(await engine.history(execution_id), EventType.WORKFLOW_CANCEL_REQUESTED) == []
    finally:
        await store.close()


async def test_a_later_run_named_by_its_own_id_is_read_as_that_run_but_acted_on_as_the_chain() -> None:
    async with TestEnvironment(workflows=[can_sleep_forever]) as env:
        execution_id = new_id("can")
        await env.client.start_workflow(can_sleep_forever, 0, id=execution_id)
        await env.advance(timedelta(hours=2, minutes=30))
        second = await env.client.describe(f"{execution_id}#run-2")  # what a listing's row names
        assert (second.id, second.run, second.status) == (execution_id, 2, tether.WorkflowStatus.CONTINUED)
        assert types_of(await env.client.history(f"{execution_id}#run-2"))[-1] == "WorkflowContinuedAsNew"
        # A result, a cancellation: they follow the chain from any of its runs.
        await env.client.cancel_workflow(f"{execution_id}#run-2")
        with pytest.raises(WorkflowCancelled):
            await env.client.get_handle(f"{execution_id}#run-2").result()
        assert (await env.client.describe(execution_id)).run == 3
