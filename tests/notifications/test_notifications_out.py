"""Notifications out: signed POSTs to real loopback receivers when an activity starts waiting and when it closes.

Each test runs on SQLite and on PostgreSQL. Deliveries are real HTTP requests (they take
real, short time); their retries fall due on the virtual clock, which the tests advance.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import tether
from tests.helpers import receiver as receivers
from tests.helpers.activity_tests import new_id
from tether.errors import InvalidSignature
from tether.model import notifications
from tether.model.events import EventType
from tether.testing import TestEnvironment

WAITING, CLOSED = notifications.WAITING, notifications.CLOSED


@tether.activity(heartbeat=timedelta(hours=1), timeout=timedelta(days=2))
async def nt_approve(order: str, urls: list[str]) -> str:
    if order.startswith("now"):
        return f"{order} done at once"
    tether.context().notify(urls, data={"order": order})
    return tether.make_async()


@tether.workflow
async def nt_order(order: str, urls: list[str]) -> str:
    return await nt_approve(order, urls)


@tether.activity(inbox=True, retry=tether.RetryPolicy(max_attempts=1))
async def nt_review(order: str) -> str:
    return tether.make_async()


@tether.activity(heartbeat=timedelta(minutes=5), retry=tether.RetryPolicy(max_attempts=1))
async def nt_lapse(order: str) -> str:
    return tether.make_async()


@tether.workflow
async def nt_reviews(order: str) -> list[str]:
    outcomes = [await nt_approve(f"now-{order}", [])]  # done at once: nothing to announce
    outcomes.append(await nt_review(order))
    try:
        outcomes.append(await nt_lapse(order))
    except tether.errors.ActivityTimeout as timed_out:
        outcomes.append(f"timed out ({timed_out.kind})")
    return outcomes


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[nt_order, nt_reviews], activities=[nt_approve, nt_review, nt_lapse])


async def states(env: TestEnvironment, execution_id: str) -> list[tuple[str, str, str, int]]:
    return [(d.event, d.url, d.state, d.tries) for d in await env.engine.deliveries(execution_id)]


async def test_waiting_is_announced_signed_with_its_token_and_a_receiver_completing_twice_changes_it_once() -> None:
    async with receivers.serve() as receiver, environment() as env:
        _, secret, _ = await env.engine.add_sink(receiver.url)
        completions: list[bool] = []

        async def complete_twice(got: receivers.Received) -> None:
            if got.json["type"] == WAITING:
                token = got.json["token"]
                completions.append(await env.client.complete_activity(token, "approved by the receiver"))
                completions.append(await env.client.complete_activity(token, "approved by the receiver"))

        receiver.hook = complete_twice
        execution_id = new_id("nt")
        handle = await env.client.start_workflow(nt_order, "o-1", [receiver.url], id=execution_id)
        assert await handle.result() == "approved by the receiver"
        waiting, closed = await receiver.wait_for(2)
        await env.wait_for_idle()
        history = [e.type for e in await env.client.history(execution_id)]
        delivered = await states(env, execution_id)

    assert completions == [True, False]  # the second is acknowledged, nothing changes
    assert history.count(EventType.ACTIVITY_COMPLETED) == 1

    body = waiting.verify(secret)
    assert waiting.headers["tether-delivery"] == body["id"]
    assert waiting.headers["tether-event"] == WAITING
    assert body["type"] == WAITING
    assert (body["execution_id"], body["workflow"], body["activity"]) == (execution_id, "nt_order", "nt_approve")
    assert (body["activity_id"], body["attempt"], body["args"]) == (1, 1, ["o-1", [receiver.url]])
    assert body["data"] == {"order": "o-1"}
    assert body["result_schema"] == {"type": "string"}
    assert body["deadlines"]["attempt"] is None
    started = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["deadlines"]["heartbeat"]) == started + timedelta(hours=1)
    assert datetime.fromisoformat(body["deadlines"]["total"]) == started + timedelta(days=2)
    assert body["token"]
    assert body["activity_token"]
    assert set(body["callback_urls"]) == {"complete", "fail"}
    assert body["callback_urls"]["complete"].startswith("http://tether.test/v1/callbacks/complete/")

    assert closed.verify(secret)["outcome"] == {"state": "completed", "result": "approved by the receiver"}
    assert closed.json["id"] != body["id"]
    assert "token" not in closed.json

    # Whatever is altered, the signature no longer verifies.
    header = waiting.headers["tether-signature"]
    with pytest.raises(InvalidSignature):
        tether.verify_notification(waiting.body.replace(b'"o-1"', b'"o-2"'), header, secret)
    with pytest.raises(InvalidSignature):
        tether.verify_notification(waiting.body, header, "whsec_another")
    with pytest.raises(InvalidSignature):
        tether.verify_notification(waiting.body, header, secret, now=int(header[2:12]) + 301)
    with pytest.raises(InvalidSignature):
        tether.verify_notification(waiting.body, None, secret)
    assert tether.verify_notification(waiting.body, header, ["whsec_old", secret])["id"] == body["id"]

    assert delivered == [
        (WAITING, receiver.url, "delivered", 1),
        (CLOSED, receiver.url, "delivered", 1),
    ]
