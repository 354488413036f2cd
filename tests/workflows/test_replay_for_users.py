"""tether.testing.replay: a recorded history against the current code, without a store or a worker.

Histories come from ``client.history(id)`` (both transports) and from files that
``tether workflow history ID --json`` wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id
from tests.workflows.test_patching import ACTIVITIES, order_v1, order_v2, order_v3, order_v4
from tether.errors import InvalidPayload, NonDeterminism, UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment, replay

TETHER = str(Path(sys.executable).parent / "tether")


@tether.activity
async def replay_approve(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def replay_fail(order: str) -> str:
    raise ValueError(f"cannot ship {order}")


@tether.workflow(name="replay_ship")
async def ship(order: str) -> str:
    approved = await replay_approve(order)
    await tether.sleep(timedelta(hours=1))
    return await replay_fail(approved)


@tether.workflow(name="replay_ship")
async def ship_without_sleep(order: str) -> str:
    approved = await replay_approve(order)
    return await replay_fail(approved)


SHIP_ACTIVITIES = [replay_approve, replay_fail]


async def run_tether(*args: str) -> bytes:
    """Run the tether command; its standard output."""
    ran = await asyncio.create_subprocess_exec(
        TETHER, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("TETHER_")},
    )  # fmt: skip
    stdout, stderr = await ran.communicate()
    assert ran.returncode == 0, stderr.decode()
    return stdout


async def finished_history(env: TestEnvironment, workflow: tether.Workflow[[str], str]) -> list[tether.HistoryEvent]:
    handle = await env.client.start_workflow(workflow, "o", id=new_id("replayed"))
    await env.advance(timedelta(days=1))
    await handle.result()
    return await handle.history()


async def test_a_compatible_history_replays_and_an_incompatible_one_names_the_event() -> None:
    async with TestEnvironment(workflows=[order_v1], activities=ACTIVITIES) as env:
        history = await finished_history(env, order_v1)

    replay(order_v1, history)
    replay(order_v2, history)  # patched: the old history takes the old branch
    with pytest.raises(NonDeterminism) as caught:
        replay(order_v4, history)
    [scheduled] = events_of(history, EventType.ACTIVITY_SCHEDULED)
    assert caught.value.event_seq == scheduled.seq
    assert "'patch_charge'" in str(caught.value)
    assert "'patch_charge_v2'" in str(caught.value)


async def test_histories_that_recorded_a_patch_replay_once_it_is_deprecated_not_once_it_is_removed() -> None:
    async with TestEnvironment(workflows=[order_v2], activities=ACTIVITIES) as env:
        history = await finished_history(env, order_v2)

    replay(order_v2, history)
    replay(order_v3, history)
    [marker] = events_of(history, EventType.PATCH_RECORDED)
    with pytest.raises(NonDeterminism, match="PatchRecorded 'charge-v2'") as caught:
        replay(order_v4, history)
    assert caught.value.event_seq == marker.seq
    with pytest.raises(NonDeterminism) as old_code:
        replay(order_v1, history)
    assert old_code.value.event_seq == marker.seq


async def test_a_running_execution_replays_up_to_its_last_task() -> None:
    async with TestEnvironment(workflows=[ship], activities=SHIP_ACTIVITIES) as env:
        handle = await env.client.start_workflow(ship, "o", id=new_id("running"))
        token = await TOKENS.get(handle.id)
        await env.wait_for_idle()
        parked = await handle.history()
        # Completed, but its workflow task has not run yet: the completion is not replayed.
        await env.worker.crash()
        await env.client.complete_activity(token, "approved")
        waiting = await handle.history()

    assert waiting[-1].type == EventType.ACTIVITY_COMPLETED
    for history in (parked, waiting):
        replay(ship, history)
        replay(ship_without_sleep, history)  # the change comes after what was recorded


async def test_failed_and_cancelled_executions_replay() -> None:
    async with TestEnvironment(workflows=[ship], activities=SHIP_ACTIVITIES) as env:
        failing = await env.client.start_workflow(ship, "o", id=new_id("failed"))
        await env.client.complete_activity(await TOKENS.get(failing.id), "approved")
        with pytest.raises(tether.errors.WorkflowFailed):
            await failing.result()
        cancelled = await env.client.start_workflow(ship, "o", id=new_id("cancelled"))
        await TOKENS.get(cancelled.id)
        await env.client.cancel_workflow(cancelled.id)
        with pytest.raises(tether.errors.WorkflowCancelled):
            await cancelled.result()
        failed_history, cancelled_history = await failing.history(), await cancelled.history()

    assert failed_history[-1].type == EventType.WORKFLOW_FAILED
    assert cancelled_history[-1].type == EventType.WORKFLOW_CANCELLED
    replay(ship, failed_history)
    replay(ship, cancelled_history)
    with pytest.raises(NonDeterminism) as caught:
        replay(ship_without_sleep, failed_history)
    [timer] = events_of(failed_history, EventType.TIMER_STARTED)
    assert caught.value.event_seq == timer.seq
    replay(ship_without_sleep, cancelled_history)  # cancelled while waiting: the sleep was never reached


async def test_a_history_file_written_by_the_cli_replays(tmp_path: Path, transport: str) -> None:
    async with TestEnvironment(workflows=[order_v2], activities=ACTIVITIES) as env:
        handle = await env.client.start_workflow(order_v2, "o", id=new_id("exported"))
        await env.wait_for_idle()  # running: charged, recorded the patch, sleeping
        url = env.server_url if transport == "http" else env.url
        assert url is not None
        stdout = await run_tether("workflow", "history", handle.id, "--json", "--url", url)
        shown = await run_tether("workflow", "show", handle.id, "--url", url)
        history = await handle.history()

    assert ["patches", "charge-v2"] in [line.split() for line in shown.decode().splitlines()]
    path = tmp_path / "history.json"
    path.write_bytes(stdout)
    assert len(json.loads(stdout)) == len(history)
    replay(order_v2, path)
    replay(order_v3, str(path))
    with pytest.raises(NonDeterminism) as caught:
        replay(order_v1, path)
    [marker] = events_of(history, EventType.PATCH_RECORDED)
    assert caught.value.event_seq == marker.seq


def test_a_file_that_is_not_an_exported_history_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"events": []}')
    with pytest.raises(InvalidPayload, match="tether workflow history ID --json"):
        replay(order_v1, path)
    path.write_text('[{"seq": 1, "type": "SomethingElse", "at": "2026-01-01T00:00:00Z", "data": {}}]')
    with pytest.raises(InvalidPayload, match="unknown type 'SomethingElse'"):
        replay(order_v1, path)
    path.write_text("[]")
    with pytest.raises(InvalidPayload, match="empty"):
        replay(order_v1, path)


async def test_a_history_of_another_workflow_is_refused() -> None:
    async with TestEnvironment(workflows=[order_v1], activities=ACTIVITIES) as env:
        history = await finished_history(env, order_v1)
    with pytest.raises(UsageError, match="'patch_order', not of 'replay_ship'"):
        replay(ship, history)
    with pytest.raises(UsageError, match="not a workflow"):
        replay(replay_fail, history)  # type: ignore[arg-type]  # an activity, on purpose
