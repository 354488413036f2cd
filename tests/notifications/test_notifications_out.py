"""Notifications out: signed POSTs to real loopback receivers when an activity starts waiting and when it closes.

Each test runs on SQLite and on PostgreSQL. Deliveries are real HTTP requests (they take
real, short time); their retries fall due on the virtual clock, which the tests advance.
"""

from __future__ import annotations

import threading
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


@tether.activity(heartbeat=timedelta(days=3), timeout=timedelta(days=4))
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
        secret = await env.add_sink(receiver.url)
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
    assert datetime.fromisoformat(body["deadlines"]["heartbeat"]) == started + timedelta(days=3)
    assert datetime.fromisoformat(body["deadlines"]["total"]) == started + timedelta(days=4)
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


async def test_a_receiver_down_at_first_gets_it_after_the_back_off_and_one_that_stays_down_is_given_up() -> None:
    down = receivers.refused_url()
    async with receivers.serve() as receiver, environment() as env:
        await env.engine.add_sink(receiver.url)
        await env.engine.add_sink(down)
        receiver.statuses = [503]
        execution_id = new_id("nt")
        await env.client.start_workflow(nt_order, "o-2", [receiver.url, down], id=execution_id)
        await receiver.wait_for(1)
        await env.wait_for_idle()
        first = {d.url: d for d in await env.engine.deliveries(execution_id)}
        assert first[receiver.url].state == first[down].state == "retrying"
        assert first[receiver.url].last_error == "HTTP 503: ok"
        assert (first[down].last_error or "").startswith("ConnectError")
        assert first[receiver.url].next_try_at == env.clock.now() + timedelta(seconds=10)

        await env.advance(timedelta(seconds=9))
        assert len(receiver.received) == 1  # not before its back-off
        await env.advance(timedelta(seconds=1))
        assert receiver.answered == [503, 200]
        assert receiver.received[0].json == receiver.received[1].json  # the same notification, id included

        await env.advance(timedelta(days=1))
        assert sorted(await states(env, execution_id)) == sorted(
            [
                (WAITING, receiver.url, "delivered", 2),
                (WAITING, down, "failed", 30),  # 10 s, 20 s, ... an hour apart: about a day of tries
            ]
        )


async def test_a_receiver_that_hangs_delays_neither_another_sink_nor_the_workflow() -> None:
    async with receivers.serve() as hung, receivers.serve() as receiver, environment() as env:
        await env.engine.add_sink(hung.url)
        await env.engine.add_sink(receiver.url)
        hold = hung.hold = threading.Event()

        async def complete(got: receivers.Received) -> None:
            if got.json["type"] == WAITING:
                await env.client.complete_activity(got.json["token"], "approved while the other hangs")

        receiver.hook = complete
        execution_id = new_id("nt")
        handle = await env.client.start_workflow(nt_order, "o-3", [hung.url, receiver.url], id=execution_id)
        assert await handle.result() == "approved while the other hangs"
        await receiver.wait_for(2)  # its closed notification came too
        assert hung.received == []
        hold.set()
        await hung.wait_for(2)
        await env.wait_for_idle()
        assert {state for _, _, state, _ in await states(env, execution_id)} == {"delivered"}


async def test_a_sink_for_every_inbox_item_hears_of_every_activity_that_waits_and_how_it_closed() -> None:
    async with receivers.serve() as receiver, environment() as env:
        secret = await env.add_sink(receiver.url, every_inbox_item=True)
        execution_id = new_id("nt")
        handle = await env.client.start_workflow(nt_reviews, "o-4", id=execution_id)
        (review,) = await receiver.wait_for(1)
        assert review.verify(secret)["activity"] == "nt_review"
        await env.client.fail_activity(
            review.json["token"], error="Rejected", message="not this one", non_retryable=True
        )
        with pytest.raises(tether.errors.WorkflowFailed):
            await handle.result()

        execution_id = new_id("nt")
        handle = await env.client.start_workflow(nt_reviews, "o-5", id=execution_id)
        await receiver.wait_for(3)
        await env.client.complete_activity(receiver.received[2].json["token"], "reviewed")
        assert await handle.result() == ["now-o-5 done at once", "reviewed", "timed out (heartbeat)"]
        await receiver.wait_for(6)
        await env.wait_for_idle()

    told = sorted(
        (r.json["execution_id"] == execution_id, r.json["activity"], r.json["type"]) for r in receiver.received
    )
    assert told == [
        (False, "nt_review", CLOSED),
        (False, "nt_review", WAITING),
        (True, "nt_lapse", CLOSED),
        (True, "nt_lapse", WAITING),
        (True, "nt_review", CLOSED),
        (True, "nt_review", WAITING),
    ]
    outcomes = {
        (r.json["execution_id"], r.json["activity"]): r.verify(secret)["outcome"] for r in receiver.of_type(CLOSED)
    }
    failed = next(o for (e, _), o in outcomes.items() if e != execution_id)
    assert (failed["state"], failed["failure"]["error"]) == ("failed", "Rejected")
    assert outcomes[execution_id, "nt_review"] == {"state": "completed", "result": "reviewed"}
    lapsed = outcomes[execution_id, "nt_lapse"]
    assert (lapsed["state"], lapsed["failure"]["kind"]) == ("timed_out", "heartbeat")
    # The activity done at once, with no waiting, was announced to nobody.
    assert all(r.json["activity"] != "nt_approve" for r in receiver.received)


async def test_a_declared_url_with_no_sink_is_held_until_its_sink_is_added_and_delivered_rows_go_with_their_execution(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with receivers.serve() as receiver:

        @tether.activity(name="nt_declared", notify=receiver.url)
        async def declared(order: str) -> str:
            return tether.make_async()

        @tether.workflow(name="nt_declared_order")
        async def declared_order(order: str) -> str:
            return await declared(order)

        async with TestEnvironment(workflows=[declared_order], activities=[declared]) as env:
            assert f"activity nt_declared notifies {receiver.url}, for which no sink is registered" in caplog.text
            await held_until_added(env, receiver, declared_order)


async def held_until_added(
    env: TestEnvironment, receiver: receivers.Receiver, declared_order: tether.Workflow[[str], str]
) -> None:
    """Its notification is held (not sent) until a sink is added; delivered ones go with the execution."""
    execution_id = new_id("nt")
    handle = await env.client.start_workflow(declared_order, "o-6", id=execution_id)
    await env.wait_for_idle()
    (held,) = await env.engine.deliveries(execution_id)
    assert (held.state, held.tries, held.next_try_at) == ("held", 0, None)
    assert "tether sinks add" in (held.last_error or "")
    assert receiver.received == []

    _, secret, released = await env.engine.add_sink(receiver.url)
    assert released == 1
    (waiting,) = await receiver.wait_for(1)
    await env.client.complete_activity(waiting.verify(secret)["token"], "late but there")
    assert await handle.result() == "late but there"
    await receiver.wait_for(2)
    await env.wait_for_idle()
    assert [d.state for d in await env.engine.deliveries(execution_id)] == ["delivered", "delivered"]

    await env.client.delete(execution_id)
    assert await env.engine.store.read(lambda tx: tx.outbox_of(execution_id)) == []
