"""A workflow's cached instance moves past the records its workflow does not read, and misses no input.

An attempt's start, its going async and a failed attempt that will be retried are written
to the history by transitions that give the workflow no task. The worker's cached instance
is moved past them as they commit, so that the step that follows the activity's end (run
inside the transition that records it) reads no history; a message or any other input
that arrives in between still reaches the workflow.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, advance, post_context, result_of
from tether.store.sqlite.store import SQLiteStore
from tether.testing import TestEnvironment

_tries: dict[str, int] = {}


@tether.activity(name="rbs.approval")
async def rbs_approval() -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="rbs.flaky_approval", retry=tether.RetryPolicy(max_attempts=2))
async def rbs_flaky_approval() -> str:
    execution_id = tether.context().execution_id
    _tries[execution_id] = _tries.get(execution_id, 0) + 1
    if _tries[execution_id] == 1:
        raise RuntimeError("the first attempt fails")
    post_context()
    return tether.make_async()


@tether.workflow(name="rbs.approved")
async def rbs_approved() -> str:
    return await rbs_approval()


@tether.workflow(name="rbs.approved_after_a_message")
async def rbs_approved_after_a_message() -> list[str]:
    approval = tether.start_activity(rbs_approval)
    note = await tether.receive("note")
    return [note, await approval]


@tether.workflow(name="rbs.approved_on_retry")
async def rbs_approved_on_retry() -> str:
    return await rbs_flaky_approval()


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[rbs_approved, rbs_approved_after_a_message, rbs_approved_on_retry],
        activities=[rbs_approval, rbs_flaky_approval],
    )


async def test_a_message_sent_while_an_activity_waits_for_its_token_reaches_the_workflow() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rbs_approved_after_a_message, id=box.id)
        ctx = await box.context()  # the attempt started and went async: records only

        await env.client.send(box.id, "note", "read me")
        await env.client.complete_activity(ctx.token, "approved")

        assert await result_of(handle) == ["read me", "approved"]


async def test_a_workflow_whose_activity_failed_once_then_went_async_gets_its_result() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rbs_approved_on_retry, id=box.id)
        await advance(env, timedelta(seconds=2))  # past the retry's wait
        ctx = await box.context()

        await env.client.complete_activity(ctx.token, "approved")

        assert await result_of(handle) == "approved"
        types = [e.type for e in await env.client.history(box.id)]
        assert types.count("ActivityAttemptFailed") == 1
        assert types.count("ActivityWentAsync") == 1


@pytest.mark.single_backend
async def test_sqlite_the_step_after_a_completion_by_token_reads_no_history(sqlite_url: str) -> None:
    async with TestEnvironment(workflows=[rbs_approved], activities=[rbs_approval], url=sqlite_url) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rbs_approved, id=box.id)
        ctx = await box.context()
        await env.client.describe(box.id)  # the went-async transition has committed
        store = env.engine.store
        assert isinstance(store, SQLiteStore)
        reads: list[str] = []
        store._conn.set_trace_callback(lambda sql: reads.append(sql) if "FROM events" in sql else None)  # type: ignore[union-attr]
        try:
            await env.client.complete_activity(ctx.token, "approved")
            assert await result_of(handle) == "approved"
        finally:
            store._conn.set_trace_callback(None)  # type: ignore[union-attr]

        assert [sql for sql in reads if sql.startswith("SELECT seq")] == []
