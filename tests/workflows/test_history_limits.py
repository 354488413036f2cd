"""History limits: a warning once a run's history passes history_warning, a refused task past history_limit."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import events_of, new_id
from tether.errors import UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment

WARNINGS = "tether.worker.history_limits"


@tether.workflow(name="history_loop")
async def loop(rounds: int) -> int:
    # Each round adds three events: TimerStarted, TimerFired and the next task's marker.
    for _ in range(rounds):
        await tether.sleep(60)
    return rounds


def warnings_about(caplog: pytest.LogCaptureFixture, execution_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == WARNINGS and getattr(r, "execution_id", None) == execution_id]


@pytest.mark.parametrize("cached", [2000, 0], ids=["cached", "replay-every-task"])
async def test_a_history_past_the_warning_is_logged_once_naming_the_execution(
    cached: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    async with TestEnvironment(workflows=[loop], history_warning=20, max_cached_workflows=cached) as env:
        short = await env.client.start_workflow(loop, 3, id=new_id("short"))
        long = await env.client.start_workflow(loop, 20, id=new_id("long"))
        assert await short.result() == 3
        assert await long.result() == 20
        assert len(await long.history()) > 40

    assert warnings_about(caplog, short.id) == []
    [warning] = warnings_about(caplog, long.id)
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert long.id in message
    assert "tether.ContinueAsNew" in message
    assert 20 < getattr(warning, "events") <= 24  # noqa: B009  # set through extra=


@pytest.mark.parametrize("cached", [2000, 0], ids=["cached", "replay-every-task"])
async def test_a_history_past_the_limit_fails_its_workflow_task_with_history_too_large(cached: int) -> None:
    async with TestEnvironment(workflows=[loop], history_limit=30, max_cached_workflows=cached) as env:
        handle = await env.client.start_workflow(loop, 100, id=new_id("limit"))
        await env.advance(timedelta(hours=3))

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.RUNNING
        error = description.task_error
        assert error is not None
        assert error["error"] == "HistoryTooLarge"
        assert "tether.ContinueAsNew" in error["message"]
        details = error["details"]
        assert details["execution_id"] == handle.id
        assert details["limit"] == 30
        assert 30 < details["events"] <= 33
        history = await handle.history()
        # The refused task ran nothing: its failure is the last event, and nothing follows.
        assert len(history) == details["events"] + 1
        assert history[-1].type == EventType.WORKFLOW_TASK_FAILED
        assert history[-1].data == error

        # Refused again when something new arrives: recorded once, the history grows by the input alone.
        await env.client.cancel_workflow(handle.id)
        await env.advance(timedelta(hours=1))
        after = await handle.history()
        assert [e.type for e in after[len(history) :]] == [EventType.WORKFLOW_CANCEL_REQUESTED]
        assert len(events_of(after, EventType.WORKFLOW_TASK_FAILED)) == 1
        assert (await handle.describe()).task_error == error


async def test_without_limits_long_histories_run_on() -> None:
    async with TestEnvironment(workflows=[loop], history_warning=None, history_limit=None) as env:
        handle = await env.client.start_workflow(loop, 40)
        assert await handle.result() == 40


async def test_limits_that_are_not_a_number_of_events_are_refused() -> None:
    async with TestEnvironment(workflows=[loop]) as env:
        with pytest.raises(UsageError, match="history_limit must be a number of events"):
            tether.Worker(env, history_limit=0)
        with pytest.raises(UsageError, match="history_warning must be a number of events"):
            tether.Worker(env, history_warning=-1)
