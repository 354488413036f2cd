"""Deleting an execution: only a closed one, with everything it has; its id may then be started again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import result_of, snapshot
from tests.helpers.workflows import TOKENS, new_id
from tether.errors import ExecutionNotClosed, ExecutionNotFound
from tether.store.base import Transaction
from tether.testing import TestEnvironment


@tether.activity
async def dl_approval(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.activity(
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1))
)
async def dl_breaks(order: str) -> str:
    raise RuntimeError("broken")


@tether.workflow
async def dl_order(order: str) -> list[Any]:
    return list(await asyncio.gather(dl_approval(order), dl_breaks(order), tether.sleep(timedelta(days=1))))


@tether.workflow
async def dl_quick(order: str) -> str:
    return f"{order} done"


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[dl_order, dl_quick], activities=[dl_approval, dl_breaks])


def rows_of(execution_id: str) -> Any:
    def read(tx: Transaction) -> dict[str, Any]:
        return {
            "execution": tx.get_execution(execution_id),
            "events": tx.load_events(execution_id),
            "activities": [tx.get_activity(execution_id, i) for i in (1, 2)],
            "timers": tx.timers_of(execution_id),
        }

    return read


async def test_deleting_a_running_execution_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        execution_id = new_id("delete")
        await env.client.start_workflow(dl_order, "o-1", id=execution_id)
        await TOKENS.get(execution_id)
        await env.wait_for_idle()
        before = await snapshot(env.client, execution_id)
        stored = await env.engine.store.read(rows_of(execution_id))

        with pytest.raises(ExecutionNotClosed) as refused:
            await env.client.delete(execution_id)

        assert refused.value.execution_id == execution_id
        assert await snapshot(env.client, execution_id) == before
        assert await env.engine.store.read(rows_of(execution_id)) == stored


async def test_deleting_a_closed_execution_removes_it_and_everything_it_had() -> None:
    async with environment() as env:
        execution_id = new_id("delete")
        handle = await env.client.start_workflow(dl_order, "o-2", id=execution_id)
        token = await TOKENS.get(execution_id)
        await env.wait_for_idle()
        await env.client.terminate(execution_id, reason="done with it")
        with pytest.raises(tether.errors.WorkflowTerminated):
            await result_of(handle)

        await env.client.delete(execution_id)

        with pytest.raises(ExecutionNotFound):
            await env.client.describe(execution_id)
        with pytest.raises(ExecutionNotFound):
            await env.client.history(execution_id)
        with pytest.raises(ExecutionNotFound):
            await env.client.get_handle(execution_id).result()
        with pytest.raises(ExecutionNotFound):
            await env.client.complete_activity(token, "after the delete")
        assert await env.engine.store.read(rows_of(execution_id)) == {
            "execution": None, "events": [], "activities": [None, None], "timers": [],
        }  # fmt: skip
        assert await env.client.list_workflows(id_prefix=execution_id) == []


async def test_a_deleted_id_may_be_started_again_as_a_new_execution() -> None:
    async with environment() as env:
        execution_id = new_id("delete")
        first = await env.client.start_workflow(dl_quick, "first", id=execution_id)
        assert await result_of(first) == "first done"
        await env.client.delete(execution_id)

        again = await env.client.start_workflow(dl_quick, "second", id=execution_id)

        assert await result_of(again) == "second done"
        history = await env.client.history(execution_id)
        assert history[0].type == "WorkflowStarted"
        assert history[0].data["args"] == ["second"]


async def test_a_deleted_id_started_again_runs_its_own_history_on_a_worker_that_cached_the_old_one() -> None:
    async with environment() as env:
        execution_id = new_id("delete")
        await env.client.start_workflow(dl_order, "old", id=execution_id)
        await TOKENS.get(execution_id)
        await env.wait_for_idle()
        await env.client.terminate(execution_id)
        await env.client.delete(execution_id)

        again = await env.client.start_workflow(dl_quick, "new", id=execution_id)

        assert await result_of(again) == "new done"


async def test_deleting_twice_or_an_unknown_id_is_not_found() -> None:
    async with environment() as env:
        execution_id = new_id("delete")
        handle = await env.client.start_workflow(dl_quick, "x", id=execution_id)
        await result_of(handle)
        await env.client.delete(execution_id)

        with pytest.raises(ExecutionNotFound):
            await env.client.delete(execution_id)
        with pytest.raises(ExecutionNotFound):
            await env.client.delete("no-such-execution")
