"""Retention: a worker deletes closed executions once they have been closed for its retention period."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import result_of
from tests.helpers.workflows import new_id
from tether.errors import ExecutionNotFound, UsageError
from tether.model.clock import duration_ms
from tether.testing import TestEnvironment

RETENTION = timedelta(days=30)


@tether.workflow
async def rt_quick(n: int) -> int:
    return n


@tether.workflow
async def rt_sleeps() -> str:
    await tether.sleep(timedelta(days=365))
    return "woke"


async def exists(env: TestEnvironment, execution_id: str) -> bool:
    try:
        await env.client.describe(execution_id)
    except ExecutionNotFound:
        return False
    return True


async def test_retention_deletes_only_executions_closed_longer_than_it_ago() -> None:
    async with TestEnvironment(workflows=[rt_quick, rt_sleeps], retention=RETENTION) as env:
        old, recent, running = new_id("old"), new_id("recent"), new_id("running")
        assert await result_of(await env.client.start_workflow(rt_quick, 1, id=old)) == 1
        await env.advance(timedelta(days=10))
        assert await result_of(await env.client.start_workflow(rt_quick, 2, id=recent)) == 2
        await env.client.start_workflow(rt_sleeps, id=running)

        await env.advance(timedelta(days=21))

        assert [await exists(env, i) for i in (old, recent, running)] == [False, True, True]

        await env.advance(timedelta(days=10))

        assert [await exists(env, i) for i in (old, recent, running)] == [False, False, True]
        with pytest.raises(ExecutionNotFound):
            await env.client.history(recent)


async def test_retention_deletes_a_batch_per_transition() -> None:
    async with TestEnvironment(workflows=[rt_quick]) as env:
        ids = [new_id("batch") for _ in range(5)]
        for n, execution_id in enumerate(ids):
            await result_of(await env.client.start_workflow(rt_quick, n, id=execution_id))
        await env.advance(RETENTION + timedelta(seconds=1))

        deleted = [await env.engine.delete_expired(duration_ms(RETENTION), limit=2) for _ in range(4)]

        assert deleted == [2, 2, 1, 0]
        assert [await exists(env, i) for i in ids] == [False] * 5


async def test_without_retention_closed_executions_are_kept() -> None:
    async with TestEnvironment(workflows=[rt_quick]) as env:
        execution_id = new_id("kept")
        await result_of(await env.client.start_workflow(rt_quick, 1, id=execution_id))

        await env.advance(timedelta(days=3650))

        assert await exists(env, execution_id)


async def test_a_retention_that_is_no_positive_duration_is_refused() -> None:
    async with TestEnvironment(workflows=[rt_quick]) as env:
        with pytest.raises(UsageError):
            tether.Worker(env, retention=timedelta(0))
