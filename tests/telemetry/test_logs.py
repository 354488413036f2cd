"""Log lines operators and workflow authors read: one per state change, failures louder, none repeated by replay."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, post_context, result_of
from tether.engine.transition_log import TransitionLog
from tether.errors import StaleToken
from tether.testing import TestEnvironment


@tether.activity(name="l.greet")
async def l_greet(name: str) -> str:
    return f"hello {name}"


@tether.workflow(name="l.chatty")
async def l_chatty(name: str) -> str:
    tether.logger.info("starting for %s", name)
    greeting = await l_greet(name)
    tether.logger.info("greeted: %s", greeting)
    await tether.sleep(timedelta(hours=1))
    tether.logger.warning("an hour later")
    return greeting


@tether.activity(name="l.broken", retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)))
async def l_broken(order: str) -> str:
    post_context()
    raise RuntimeError("the printer is on fire")


@tether.activity(name="l.approve")
async def l_approve(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow(name="l.flow")
async def l_flow(kind: str) -> str:
    return await {"broken": l_broken, "approve": l_approve}[kind](kind)


async def test_tether_logger_writes_each_line_once_though_every_task_replays(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tether.workflow")
    async with TestEnvironment(workflows=[l_chatty], activities=[l_greet], max_cached_workflows=0) as env:
        handle = await env.client.start_workflow(l_chatty, "ann")
        assert await result_of(handle) == "hello ann"

    lines = [r for r in caplog.records if r.name == "tether.workflow"]
    assert [(r.levelname, r.getMessage()) for r in lines] == [
        ("INFO", "starting for ann"),
        ("INFO", "greeted: hello ann"),
        ("WARNING", "an hour later"),
    ]
    assert {getattr(r, "execution_id", None) for r in lines} == {handle.id}
    assert {getattr(r, "workflow", None) for r in lines} == {"l.chatty"}


async def test_tether_logger_outside_workflow_code_logs_as_a_plain_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tether.workflow")
    tether.logger.info("from a script")
    assert [r.getMessage() for r in caplog.records] == ["from a script"]


async def test_state_changes_at_debug_and_a_failed_activity_at_info_then_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="tether.transitions")
    async with TestEnvironment(workflows=[l_flow], activities=[l_broken, l_approve]) as env:
        TransitionLog.attach(env.engine)
        box = Mailbox()
        handle = await env.client.start_workflow(l_flow, "broken", id=box.id)
        with pytest.raises(tether.errors.WorkflowFailed):
            await result_of(handle)

    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "tether.transitions"]
    assert lines == [
        ("DEBUG", f"execution {box.id} of l.flow started"),
        ("DEBUG", f"activity l.broken attempt 1 of {box.id}: started"),
        ("INFO", f"activity l.broken attempt 1 of {box.id}: failed (RuntimeError, will retry)"),
        ("DEBUG", f"activity l.broken attempt 2 of {box.id}: started"),
        ("WARNING", f"activity l.broken attempt 2 of {box.id}: failed (RuntimeError)"),
        ("WARNING", f"execution {box.id} of l.flow closed: failed"),
    ]
    final = next(r for r in caplog.records if r.levelname == "WARNING" and "attempt 2" in r.getMessage())
    fields = {k: getattr(final, k) for k in ("execution_id", "activity", "activity_id", "attempt")}
    assert fields == {"execution_id": box.id, "activity": "l.broken", "activity_id": 1, "attempt": 2}


async def test_a_refused_close_by_token_is_logged_with_its_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tether.transitions")
    async with TestEnvironment(workflows=[l_flow], activities=[l_broken, l_approve]) as env:
        TransitionLog.attach(env.engine)
        box = Mailbox()
        await env.client.start_workflow(l_flow, "approve", id=box.id)
        context = await box.context()
        await env.client.fail_activity(context.token, error="Nope")  # attempt 1 fails, a retry follows...
        with pytest.raises(StaleToken):
            await env.client.fail_activity(context.token, error="Other")  # ...so its token is stale

    refused = [r for r in caplog.records if getattr(r, "outcome", None) == "refused"]
    assert [r.getMessage() for r in refused] == ["fail by token: refused (stale_token)"]
    assert refused[0].error_code == "stale_token"  # type: ignore[attr-defined]
