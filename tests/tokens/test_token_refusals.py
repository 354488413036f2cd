"""Tokens that must be refused: forged, altered, truncated, foreign, stale, or of a closed activity."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import (
    Mailbox,
    of_type,
    post_context,
    result_of,
    snapshot,
    token_body,
    with_body,
    with_signature,
)
from tether.errors import ActivityAlreadyClosed, InvalidToken, StaleToken
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=3))
async def tr_remote(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow
async def tr_run(order: str) -> str:
    return await tr_remote(order)


@tether.workflow
async def tr_run_caught(order: str) -> str:
    try:
        return await tr_remote(order)
    except tether.errors.ActivityFailed as exc:
        return f"failed: {exc.error}"


@tether.workflow
async def tr_run_cancelled_after_a_second(order: str) -> str:
    handle = tether.start_activity(tr_remote, order)
    await tether.sleep(1)
    handle.cancel()
    try:
        return await handle
    except tether.errors.ActivityCancelled:
        return "cancelled"


Use = Callable[[tether.Client, str], Awaitable[Any]]


async def _complete(client: tether.Client, token: str) -> None:
    await client.complete_activity(token, "done")


async def _fail(client: tether.Client, token: str) -> None:
    await client.fail_activity(token, error="Declined", message="no")


async def _heartbeat(client: tether.Client, token: str) -> None:
    await client.heartbeat_activity(token, {"page": 1})


async def _report_cancelled(client: tether.Client, token: str) -> None:
    await client.report_activity_cancelled(token)


USES: dict[str, Use] = {
    "complete": _complete,
    "fail": _fail,
    "heartbeat": _heartbeat,
    "report_cancelled": _report_cancelled,
}


def _forged(token: str) -> str:
    return with_signature(token, hmac.new(os.urandom(32), token.split(".")[0].encode(), hashlib.sha256).digest())


def _altered(index: int, value: Any) -> Callable[[str], str]:
    def alter(token: str) -> str:
        body = token_body(token)
        body[index] = value
        return with_body(token, body)

    return alter


def _flip_last_signature_char(token: str) -> str:
    body, signature = token.split(".")
    return f"{body}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"


BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "forged signature": _forged,
    "altered execution id": _altered(1, "someone-else"),
    "altered activity id": _altered(2, 2),
    "altered attempt": _altered(3, 2),
    "altered key id": _altered(0, 99),
    "altered signature": _flip_last_signature_char,
    "signature removed": lambda t: t.split(".")[0],
    "signature emptied": lambda t: t.split(".")[0] + ".",
    "body emptied": lambda t: "." + t.split(".")[1],
    "truncated by one": lambda t: t[:-1],
    "truncated by half": lambda t: t[: len(t) // 2],
    "extra dot": lambda t: t + ".x",
    "extra character": lambda t: t + "A",
    "empty": lambda t: "",
    "garbage": lambda t: "not-a-token",
    "garbage with a dot": lambda t: "not.a-token",
    "non-ascii": lambda t: "☃." + t.split(".")[1],
    "very long": lambda t: t + "A" * 10_000,
    "json body": lambda t: '{"execution_id": "x"}.sig',
}


def _with_attempt(token: str) -> str:
    return with_body(token, [*token_body(token), 1])


def _without_attempt(token: str) -> str:
    return with_body(token, token_body(token)[:3])


BAD_ACTIVITY_TOKENS: dict[str, Callable[[str, str], str]] = {
    "forged signature": lambda activity, attempt: _forged(activity),
    "altered execution id": lambda activity, attempt: _altered(1, "someone-else")(activity),
    "altered activity id": lambda activity, attempt: _altered(2, 2)(activity),
    "altered key id": lambda activity, attempt: _altered(0, 99)(activity),
    "altered signature": lambda activity, attempt: _flip_last_signature_char(activity),
    "an attempt added": lambda activity, attempt: _with_attempt(activity),
    "the attempt token's attempt removed": lambda activity, attempt: _without_attempt(attempt),
    "the attempt token's body": lambda activity, attempt: f"{attempt.split('.')[0]}.{activity.split('.')[1]}",
    "the attempt token's signature": lambda activity, attempt: f"{activity.split('.')[0]}.{attempt.split('.')[1]}",
    "truncated by one": lambda activity, attempt: activity[:-1],
    "signature removed": lambda activity, attempt: activity.split(".")[0],
    "extra character": lambda activity, attempt: activity + "A",
}
"""Activity tokens altered, and attempt and activity tokens made into one another."""


def environment(**options: Any) -> TestEnvironment:
    return TestEnvironment(
        workflows=[tr_run, tr_run_caught, tr_run_cancelled_after_a_second], activities=[tr_remote], **options
    )


async def refused_without_change(uses: dict[str, Use], bad_token_of: Callable[[tether.ActivityContext], str]) -> None:
    """Each of ``uses`` with a bad token made from a waiting activity's context is refused as invalid.

    Nothing changes: the execution reads the same after each refusal as before the first.
    """
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)
        bad = bad_token_of(ctx)
        assert bad not in (ctx.token, ctx.activity_token)

        for name, use in uses.items():
            with pytest.raises(InvalidToken):
                await use(env.client, bad)
            await env.wait_for_idle()
            assert await snapshot(env.client, box.id) == before, f"{name} with a bad token changed something"


@pytest.mark.parametrize("bad", list(BAD_TOKENS))
async def test_bad_token_is_refused_by_every_call_and_changes_nothing(bad: str) -> None:
    await refused_without_change(USES, lambda ctx: BAD_TOKENS[bad](ctx.token))


async def _describe(client: tether.Client, token: str) -> None:
    await client.describe_activity(token)


@pytest.mark.parametrize("bad", list(BAD_ACTIVITY_TOKENS))
async def test_bad_activity_token_is_refused_by_every_call_and_changes_nothing(bad: str) -> None:
    await refused_without_change(
        {**USES, "describe": _describe}, lambda ctx: BAD_ACTIVITY_TOKENS[bad](ctx.activity_token, ctx.token)
    )


@pytest.mark.parametrize("use", list(USES))
async def test_token_that_is_not_a_string_is_refused(use: str) -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidToken):
            await USES[use](env.client, 12345)  # type: ignore[arg-type]  # a caller that ignores the types

        assert await snapshot(env.client, box.id) == before


@pytest.mark.parametrize("use", list(USES))
async def test_token_of_another_store_naming_the_same_activity_is_refused(use: str) -> None:
    async with environment() as ours, environment() as theirs:
        box = Mailbox()
        await ours.client.start_workflow(tr_run, "o1", id=box.id)
        await box.context()
        await theirs.client.start_workflow(tr_run, "o1", id=box.id)
        foreign = await box.context()
        await ours.wait_for_idle()
        before = await snapshot(ours.client, box.id)

        with pytest.raises(InvalidToken):
            await USES[use](ours.client, foreign.token)

        await ours.wait_for_idle()
        assert await snapshot(ours.client, box.id) == before


async def test_token_is_url_safe_and_names_nothing_in_clear_text() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)

        token = (await box.context()).token

        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        assert box.id not in token


@pytest.mark.parametrize("use", list(USES))
async def test_token_of_a_previous_attempt_is_refused_as_stale(use: str) -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        first = await box.context()
        await env.wait_for_idle()
        await env.advance(HEARTBEAT)
        await env.advance(timedelta(seconds=1))
        second = await box.context()
        await env.wait_for_idle()
        assert (first.attempt, second.attempt) == (1, 2)
        before = await snapshot(env.client, box.id)

        with pytest.raises(StaleToken) as refused:
            await USES[use](env.client, first.token)

        assert (refused.value.token_attempt, refused.value.current_attempt) == (1, 2)
        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before


@pytest.mark.parametrize("use", list(USES))
async def test_token_of_a_failed_attempt_is_refused_as_stale_while_waiting_for_the_retry(use: str) -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        first = await box.context()
        await env.wait_for_idle()
        await env.client.fail_activity(first.token, error="Transient")
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)
        assert before[0].pending_activities[0].state == tether.ActivityState.BACKOFF

        with pytest.raises(StaleToken):
            await USES[use](env.client, first.token)

        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before


@pytest.mark.parametrize(
    ("ending", "final_state"),
    [("complete", "completed"), ("fail", "failed"), ("report_cancelled", "cancelled"), ("time_out", "timed_out")],
)
async def test_heartbeat_on_a_closed_activity_is_refused_as_already_closed(ending: str, final_state: str) -> None:
    async with environment() as env:
        box = Mailbox()
        workflow = tr_run_cancelled_after_a_second if ending == "report_cancelled" else tr_run_caught
        handle = await env.client.start_workflow(workflow, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        if ending == "complete":
            await env.client.complete_activity(ctx.token, "done")
        elif ending == "fail":
            await env.client.fail_activity(ctx.token, error="Declined", non_retryable=True)
        elif ending == "report_cancelled":
            await env.advance(timedelta(seconds=1))
            assert (await env.client.heartbeat_activity(ctx.token)).cancel_requested
            await env.client.report_activity_cancelled(ctx.token)
        else:
            await env.advance(HEARTBEAT)
            await env.advance(timedelta(seconds=1))
            second = await box.context()
            await env.wait_for_idle()
            await env.advance(HEARTBEAT)
            await env.advance(timedelta(seconds=2))
            third = await box.context()
            await env.wait_for_idle()
            await env.advance(HEARTBEAT)
            ctx = third
            assert second.attempt == 2
        await result_of(handle)
        before = await snapshot(env.client, box.id)

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.heartbeat_activity(ctx.token, {"page": 9})

        assert refused.value.final_state == final_state
        assert await snapshot(env.client, box.id) == before
        assert of_type(before[1], "ActivityHeartbeat") == []


async def test_a_closed_client_refuses_calls_as_the_store_does_and_changes_nothing() -> None:
    # Over HTTP as embedded: a clear tether error, not the HTTP library's own.
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)
        closed = await tether.Client.connect(env.server_url or env.url)
        await closed.close()
        for name, use in USES.items():
            with pytest.raises(tether.errors.StoreUnavailable, match="closed"):
                await use(closed, ctx.token)
            assert await snapshot(env.client, box.id) == before, f"{name} on a closed client changed something"
