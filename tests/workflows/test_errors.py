"""What users see when workflows fail or tether is misused, and how executions are identified and listed."""

from __future__ import annotations

import collections
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id
from tether.model.events import EventType
from tether.testing import TestEnvironment

RUNS: collections.Counter[str] = collections.Counter()
"""How often err_count's activity ran, by execution id."""


class OrderRejected(Exception):
    pass


@tether.workflow
async def err_value_error(order: int) -> str:
    raise ValueError(f"order {order} is invalid")


@tether.workflow
async def err_custom_error() -> str:
    raise OrderRejected("out of stock")


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def err_lookup(key: str) -> str:
    raise KeyError(key)


@tether.workflow
async def err_uncaught_activity_failure() -> str:
    return await err_lookup("missing")


@tether.workflow
async def err_wrong_result_type() -> int:
    wrong: object = "twelve"
    return wrong  # type: ignore[return-value]  # the declared type is what the test breaks


@tether.workflow
async def err_context_in_workflow() -> str:
    return tether.context().token


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def err_sleep_in_activity() -> str:
    await tether.sleep(1)
    return "slept"


@tether.workflow
async def err_sleep_in_activity_workflow() -> list[str]:
    try:
        await err_sleep_in_activity()
    except tether.errors.ActivityFailed as exc:
        return [exc.error, exc.message]
    return ["no error"]


@tether.activity
async def err_side_effect(label: str) -> str:
    RUNS[tether.context().execution_id] += 1
    return f"ran {label}"


@tether.workflow
async def err_count(label: str) -> str:
    return await err_side_effect(label)


@tether.workflow
async def err_ok(n: int) -> int:
    return n * 10


@tether.activity
async def err_wait_for_token(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow
async def err_waiting(order: str) -> str:
    return await err_wait_for_token(order)


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    err_value_error,
    err_custom_error,
    err_wrong_result_type,
    err_uncaught_activity_failure,
    err_context_in_workflow,
    err_sleep_in_activity_workflow,
    err_count,
    err_ok,
    err_waiting,
]
ACTIVITIES: list[tether.Activity[..., Any]] = [err_lookup, err_sleep_in_activity, err_side_effect, err_wait_for_token]


def env() -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES)


# failing workflows


async def test_workflow_raising_fails_with_the_exception_type_and_message() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_value_error, 7, id=new_id("value-error"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "ValueError"
        assert caught.value.message == "order 7 is invalid"
        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.FAILED
        assert description.error is not None
        assert description.error["error"] == "ValueError"
        assert description.error["message"] == "order 7 is invalid"
        assert description.closed_at == e.clock.now()


async def test_workflow_raising_a_user_exception_class_fails_with_its_name() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_custom_error, id=new_id("custom-error"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "OrderRejected"
        assert caught.value.message == "out of stock"


async def test_uncaught_activity_failure_fails_the_workflow_with_the_activity_error_type() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_uncaught_activity_failure, id=new_id("activity-error"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "KeyError"
        assert "missing" in caught.value.message
        history = await handle.history()
        assert len(events_of(history, EventType.ACTIVITY_FAILED)) == 1
        assert len(events_of(history, EventType.WORKFLOW_FAILED)) == 1


async def test_workflow_result_of_the_wrong_type_fails_the_workflow_with_invalid_payload() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_wrong_result_type, id=new_id("wrong-result"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "InvalidPayload"
        assert "err_wrong_result_type" in caught.value.message


async def test_workflow_arguments_of_the_wrong_type_fail_the_workflow_with_invalid_payload() -> None:
    async with env() as e:
        handle = await e.client.start_workflow("err_ok", "four", id=new_id("wrong-args"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "InvalidPayload"
        assert "arguments" in caught.value.message


async def test_failed_workflow_result_is_the_same_from_a_fresh_handle() -> None:
    async with env() as e:
        execution_id = new_id("fresh-handle")
        await e.client.start_workflow(err_value_error, 3, id=execution_id)

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await e.client.get_handle(execution_id).result()

        assert (caught.value.error, caught.value.message) == ("ValueError", "order 3 is invalid")


# misuse


async def test_start_workflow_by_unknown_name_raises_unknown_workflow_and_starts_nothing() -> None:
    async with env() as e:
        before = await e.client.list_workflows()
        execution_id = new_id("unknown")

        with pytest.raises(tether.errors.UnknownWorkflow) as caught:
            await e.client.start_workflow("err_no_such_workflow", 1, id=execution_id)

        assert caught.value.name == "err_no_such_workflow"
        assert await e.client.list_workflows() == before
        with pytest.raises(tether.errors.ExecutionNotFound):
            await e.client.describe(execution_id)


async def test_start_workflow_by_registered_name_runs_it() -> None:
    async with env() as e:
        handle = await e.client.start_workflow("err_ok", 4, id=new_id("by-name"))

        assert await handle.result() == 40


def test_context_outside_an_activity_raises_not_in_activity() -> None:
    with pytest.raises(tether.errors.NotInActivity):
        tether.context()


async def test_heartbeat_and_make_async_outside_an_activity_raise_not_in_activity() -> None:
    with pytest.raises(tether.errors.NotInActivity):
        tether.heartbeat({"i": 1})
    with pytest.raises(tether.errors.NotInActivity):
        tether.make_async()


async def test_context_in_workflow_code_fails_the_workflow_with_not_in_activity() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_context_in_workflow, id=new_id("context-in-workflow"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "NotInActivity"


async def test_sleep_outside_a_workflow_raises_not_in_workflow() -> None:
    with pytest.raises(tether.errors.NotInWorkflow):
        await tether.sleep(1)


def test_now_and_start_activity_outside_a_workflow_raise_not_in_workflow() -> None:
    with pytest.raises(tether.errors.NotInWorkflow):
        tether.now()
    with pytest.raises(tether.errors.NotInWorkflow):
        tether.start_activity(err_side_effect, "x")


async def test_calling_a_workflow_or_activity_directly_raises_not_in_workflow() -> None:
    with pytest.raises(tether.errors.NotInWorkflow):
        await err_ok(1)
    with pytest.raises(tether.errors.NotInWorkflow):
        await err_side_effect("x")


async def test_sleep_inside_an_activity_fails_the_attempt_with_not_in_workflow() -> None:
    async with env() as e:
        handle = await e.client.start_workflow(err_sleep_in_activity_workflow, id=new_id("sleep-in-activity"))

        error, _ = await handle.result()

        assert error == "NotInWorkflow"


# one execution per id


async def test_starting_the_same_id_twice_gives_one_execution() -> None:
    async with env() as e:
        execution_id = new_id("same-id")
        first = await e.client.start_workflow(err_count, "first", id=execution_id)
        second = await e.client.start_workflow(err_count, "second", id=execution_id)

        assert second.id == first.id
        assert await first.result() == "ran first"
        assert await second.result() == "ran first"
        history = await first.history()
        assert len(events_of(history, EventType.WORKFLOW_STARTED)) == 1
        assert (await first.describe()).input == ["first"]
        assert RUNS[execution_id] == 1


async def test_starting_a_completed_id_again_returns_it_without_running_again() -> None:
    async with env() as e:
        execution_id = new_id("same-id-done")
        first = await e.client.start_workflow(err_count, "first", id=execution_id)
        assert await first.result() == "ran first"
        before = await first.history()

        again = await e.client.start_workflow(err_count, "again", id=execution_id)

        assert await again.result() == "ran first"
        assert await again.history() == before
        assert RUNS[execution_id] == 1


async def test_starting_an_id_with_another_workflow_is_refused_and_changes_nothing() -> None:
    async with env() as e:
        execution_id = new_id("other-workflow")
        handle = await e.client.start_workflow(err_ok, 1, id=execution_id)
        assert await handle.result() == 10
        history, description = await handle.history(), await handle.describe()

        with pytest.raises(tether.errors.ExecutionIdTaken) as caught:
            await e.client.start_workflow(err_count, "x", id=execution_id)

        assert (caught.value.workflow, caught.value.requested) == ("err_ok", "err_count")
        assert "err_ok" in str(caught.value)
        assert await handle.history() == history
        assert await handle.describe() == description


# listing


async def start_mixed(e: TestEnvironment) -> dict[str, list[str]]:
    """Start executions that end completed, failed, running and cancelled, one second apart."""
    ids: dict[str, list[str]] = collections.defaultdict(list)
    plan: list[tuple[str, tether.Workflow[..., Any], Any]] = [
        ("completed", err_ok, 1),
        ("running", err_waiting, "a"),
        ("failed", err_value_error, 2),
        ("completed", err_ok, 3),
        ("cancelled", err_waiting, "b"),
        ("running", err_waiting, "c"),
        ("completed", err_ok, 5),
    ]
    for index, (status, workflow, arg) in enumerate(plan):
        execution_id = f"list-{index}-{status}"
        await e.client.start_workflow(workflow, arg, id=execution_id)
        if workflow is err_waiting:
            await TOKENS.get(execution_id)
        await e.wait_for_idle()
        if status == "cancelled":
            await e.client.cancel_workflow(execution_id)
            await e.wait_for_idle()
        ids[status].append(execution_id)
        e.clock.advance(timedelta(seconds=1))
    return ids


async def test_list_workflows_filters_by_status() -> None:
    async with env() as e:
        ids = await start_mixed(e)

        for status in ("completed", "failed", "running", "cancelled"):
            listed = await e.client.list_workflows(status=status)
            assert [s.id for s in listed] == ids[status][::-1], status
            assert {s.status for s in listed} == {tether.WorkflowStatus(status)}


async def test_list_workflows_filters_by_workflow_name_and_status_together() -> None:
    async with env() as e:
        ids = await start_mixed(e)

        by_name = await e.client.list_workflows(workflow="err_waiting")
        running = await e.client.list_workflows(workflow="err_waiting", status=tether.WorkflowStatus.RUNNING)

        assert [s.id for s in by_name] == [ids["running"][1], ids["cancelled"][0], ids["running"][0]]
        assert {s.workflow for s in by_name} == {"err_waiting"}
        assert [s.id for s in running] == ids["running"][::-1]
        assert await e.client.list_workflows(workflow="err_no_such_workflow") == []


async def test_list_workflows_pages_newest_first_without_overlap() -> None:
    async with env() as e:
        ids = await start_mixed(e)
        everything = await e.client.list_workflows()
        assert [s.id for s in everything] == sorted((i for group in ids.values() for i in group), reverse=True)

        pages = [await e.client.list_workflows(limit=3, offset=offset) for offset in (0, 3, 6, 9)]

        assert [len(page) for page in pages] == [3, 3, 1, 0]
        assert [s for page in pages for s in page] == everything
        started = [s.started_at for s in everything]
        assert started == sorted(started, reverse=True)


async def test_list_workflows_refuses_a_bad_status_or_page() -> None:
    async with env() as e:
        with pytest.raises(tether.errors.UsageError):
            await e.client.list_workflows(status="sleeping")
        with pytest.raises(tether.errors.UsageError):
            await e.client.list_workflows(limit=0)
        with pytest.raises(tether.errors.UsageError):
            await e.client.list_workflows(offset=-1)
        with pytest.raises(tether.errors.UsageError):
            await e.client.list_workflows(offset=10**30)
