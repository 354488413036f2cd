"""Faults found in review: each must keep the engine working and report clearly."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.helpers.transports import transport
from tether.errors import ActivityFailed, InvalidToken, StoreUnavailable
from tether.model import tokens
from tether.model.options import RetryPolicy
from tether.testing import TestEnvironment

CLIENTS: list[tether.Client] = []
TOKENS: asyncio.Queue[str] = asyncio.Queue()

pytestmark = pytest.mark.usefixtures("transport")
__all__ = ["transport"]


@pytest.fixture(autouse=True)
def fresh_queue() -> None:
    """A queue of this test's own: a queue binds to the event loop of the test that first waits on it."""
    global TOKENS
    TOKENS = asyncio.Queue()


@pytest.fixture(autouse=True)
def _fresh_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's queues belong to one event loop: each test (and backend) gets its own."""
    monkeypatch.setattr(sys.modules[__name__], "TOKENS", asyncio.Queue())


class NotJson:
    """A value no JSON encoder knows."""


@tether.activity(name="rr.looks_up_a_missing_execution", retry=tether.RetryPolicy(max_attempts=1))
async def rr_looks_up_a_missing_execution() -> str:
    description = await CLIENTS[0].describe("no-such-execution")
    return str(description.status)


@tether.activity(name="rr.fails_with_odd_details", retry=tether.RetryPolicy(max_attempts=1))
async def rr_fails_with_odd_details() -> str:
    raise ActivityFailed("declined", error="Declined", details={"why": NotJson()})


@tether.activity(name="rr.parks")
async def rr_parks() -> str:
    await TOKENS.put(tether.context().token)
    return tether.make_async()


@tether.activity(name="rr.elsewhere")
async def rr_elsewhere() -> str:
    return "run by another worker"


@tether.workflow(name="rr.report")
async def rr_report(which: str) -> dict[str, Any]:
    activity = {"missing": rr_looks_up_a_missing_execution, "odd": rr_fails_with_odd_details}[which]
    try:
        return {"result": await activity()}
    except ActivityFailed as exc:
        return {"error": exc.error, "details": exc.details}


@tether.workflow(name="rr.parked")
async def rr_parked() -> str:
    return await rr_parks()


@tether.workflow(name="rr.leaves_work_behind")
async def rr_leaves_work_behind() -> str:
    async def later() -> None:
        await asyncio.sleep(0)
        tether.start_activity(rr_parks)  # after the workflow returned: must not take effect

    asyncio.get_running_loop().create_task(later())
    return "done"


@tether.workflow(name="rr.needs_another_worker")
async def rr_needs_another_worker() -> str:
    return await rr_elsewhere()


ALL_ACTIVITIES: list[tether.Activity[..., Any]] = [rr_looks_up_a_missing_execution, rr_fails_with_odd_details, rr_parks]
ALL_WORKFLOWS: list[tether.Workflow[..., Any]] = [rr_report, rr_parked, rr_leaves_work_behind, rr_needs_another_worker]


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES)


async def test_a_refusal_raised_by_the_activitys_own_calls_fails_the_attempt() -> None:
    async with environment() as env:
        CLIENTS[:] = [env.client]
        handle = await env.client.start_workflow(rr_report, "missing")

        assert await asyncio.wait_for(handle.result(), 10) == {
            "error": "ExecutionNotFound",
            "details": {"execution_id": "no-such-execution"},
        }


async def test_failure_details_that_are_not_json_reach_the_workflow_as_text_and_the_worker_lives_on() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(rr_report, "odd")

        outcome = await asyncio.wait_for(handle.result(), 10)

        assert outcome["error"] == "Declined"
        assert "NotJson" in outcome["details"]
        again = await env.client.start_workflow(rr_report, "odd")
        assert (await asyncio.wait_for(again.result(), 10))["error"] == "Declined"


async def test_a_refused_token_on_a_new_store_does_not_leave_an_unsaved_signing_key_behind() -> None:
    async with environment() as env:
        foreign = tokens.sign(tokens.TokenClaims("x", 1, 1), 1, b"another deployment's secret")
        with pytest.raises(InvalidToken):
            await env.client.complete_activity(foreign, "x")
        handle = await env.client.start_workflow(rr_parked)
        token = await asyncio.wait_for(TOKENS.get(), 10)

        await env.restart()
        await env.client.complete_activity(token, "accepted after a restart")

        assert await asyncio.wait_for(handle.result(), 10) == "accepted after a restart"


async def test_commands_emitted_after_the_workflow_returned_take_no_effect() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(rr_leaves_work_behind)

        assert await asyncio.wait_for(handle.result(), 10) == "done"
        await env.wait_for_idle()
        history = await env.client.history(handle.id)
        assert [e.type for e in history][-1] == "WorkflowCompleted"
        assert "ActivityScheduled" not in [e.type for e in history]


async def test_advancing_time_returns_while_work_waits_for_a_worker_this_environment_lacks() -> None:
    async with environment() as env:
        await env.client.start_workflow(rr_needs_another_worker)

        await asyncio.wait_for(env.advance(timedelta(seconds=1)), 10)

        pending = (await env.client.list_workflows(status="running"))[0]
        assert pending.workflow == "rr.needs_another_worker"


def test_retry_interval_stays_at_its_cap_however_many_attempts_failed() -> None:
    policy = RetryPolicy(max_attempts=0, initial_interval=timedelta(seconds=1), max_interval=timedelta(seconds=100))

    assert policy.interval_ms(5_000) == 100_000


@pytest.mark.single_backend
async def test_a_full_disk_refuses_the_transition_and_the_store_keeps_answering(tmp_path: Path) -> None:
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}")
    try:
        store = client.engine.store
        (pages,) = await store.run(lambda tx: tx._conn.execute("PRAGMA page_count").fetchone())  # type: ignore[attr-defined]  # the SQLite transaction's connection
        await store.run(lambda tx: tx._conn.execute(f"PRAGMA max_page_count={pages + 3}").fetchone())  # type: ignore[attr-defined]  # the SQLite transaction's connection
        refused = 0
        for i in range(30):
            try:
                await asyncio.wait_for(client.start_workflow(rr_report, "x" * 3000, id=f"w{i}"), 10)
            except StoreUnavailable:
                refused += 1

        assert refused > 0
        assert (await asyncio.wait_for(client.describe("w0"), 10)).id == "w0"
    finally:
        await client.close()
