"""Requests into running workflows: the workflow replies or rejects, and the caller gets that answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pydantic import BaseModel

import tether
from tests.helpers.workflows import events_of, new_id
from tether.errors import ExecutionClosed, InvalidPayload, RequestRejected, UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment


class Address(BaseModel):
    street: str
    city: str


@tether.workflow(messages={"change-address": Address})
async def req_order(changes: int) -> list[str]:
    seen: list[str] = []
    while len(seen) < changes:
        request = await tether.receive_request("change-address")
        if request.payload.city == "Atlantis":
            request.reject("we do not ship to Atlantis")
            continue
        seen.append(request.payload.city)
        request.reply({"accepted": request.payload.city, "count": len(seen)})
    return seen


@tether.workflow
async def req_slow() -> str:
    request = await tether.receive_request("ask")
    await tether.sleep(timedelta(hours=1))  # answers after the caller gave up
    request.reply("late answer")
    return "answered"


@tether.workflow
async def req_never_answers() -> str:
    await tether.receive_request("ask")
    return "took it and closed"


@tether.workflow
async def req_answers_twice() -> str:
    request = await tether.receive_request("ask")
    request.reply(1)
    try:
        request.reply(2)
    except UsageError:
        return "refused a second answer"
    return "answered twice"


@tether.workflow
async def req_keeps_messages_apart() -> list[str]:
    message = await tether.receive("x")
    request = await tether.receive_request("x")
    request.reply(f"after {message}")
    return [message, request.payload]


async def test_a_reply_reaches_the_caller_and_a_rejection_raises_request_rejected() -> None:
    async with TestEnvironment(workflows=[req_order]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_order, 2, id=execution_id)
        first = await env.client.request(execution_id, "change-address", {"street": "1 Main", "city": "Oslo"})
        assert first == {"accepted": "Oslo", "count": 1}
        with pytest.raises(RequestRejected) as rejected:
            await env.client.request(execution_id, "change-address", {"street": "0 Deep", "city": "Atlantis"})
        assert rejected.value.reason == "we do not ship to Atlantis"
        second = await env.client.request(
            execution_id, "change-address", {"street": "2 High", "city": "Rome"}, timeout=timedelta(seconds=30)
        )
        assert second == {"accepted": "Rome", "count": 2}
        assert await handle.result() == ["Oslo", "Rome"]

        history = await env.client.history(execution_id)
        answers = events_of(history, EventType.REQUEST_ANSWERED)
        assert [a.data.get("reply", a.data.get("reason")) for a in answers] == [
            {"accepted": "Oslo", "count": 1}, "we do not ship to Atlantis", {"accepted": "Rome", "count": 2},
        ]  # fmt: skip


async def test_a_request_with_a_bad_payload_is_refused_and_nothing_is_stored() -> None:
    async with TestEnvironment(workflows=[req_order]) as env:
        execution_id = new_id("req")
        await env.client.start_workflow(req_order, 1, id=execution_id)
        await env.wait_for_idle()
        before = await env.client.history(execution_id)
        with pytest.raises(InvalidPayload):
            await env.client.request(execution_id, "change-address", {"street": "1 Main"})
        assert await env.client.history(execution_id) == before


async def test_a_request_to_a_closed_execution_is_refused_at_once() -> None:
    async with TestEnvironment(workflows=[req_order]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_order, 1, id=execution_id)
        await env.client.request(execution_id, "change-address", {"street": "1 Main", "city": "Oslo"})
        await handle.result()
        closed = await env.client.history(execution_id)
        with pytest.raises(ExecutionClosed):
            await env.client.request(execution_id, "change-address", {"street": "1 Main", "city": "Rome"})
        assert await env.client.history(execution_id) == closed


async def test_a_caller_that_stops_waiting_gets_timeout_error_and_the_late_reply_is_recorded() -> None:
    async with TestEnvironment(workflows=[req_slow]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_slow, id=execution_id)
        asking = asyncio.ensure_future(env.client.request(execution_id, "ask", None, timeout=timedelta(minutes=5)))
        await env.wait_for_idle()
        await env.advance(timedelta(minutes=5))
        with pytest.raises(TimeoutError):
            await asking
        await env.advance(timedelta(hours=1))
        assert await handle.result() == "answered"
        answered = events_of(await env.client.history(execution_id), EventType.REQUEST_ANSWERED)
        assert [a.data["reply"] for a in answered] == ["late answer"]


async def test_asking_again_with_the_same_key_waits_for_the_same_request() -> None:
    async with TestEnvironment(workflows=[req_slow]) as env:
        execution_id = new_id("req")
        await env.client.start_workflow(req_slow, id=execution_id)
        asking = asyncio.ensure_future(env.client.request(execution_id, "ask", "q", key="q1", timeout=60))
        await env.wait_for_idle()
        await env.advance(timedelta(minutes=1))
        with pytest.raises(TimeoutError):
            await asking
        again = asyncio.ensure_future(env.client.request(execution_id, "ask", "q", key="q1"))
        await env.wait_for_idle()
        await env.advance(timedelta(hours=1))
        assert await again == "late answer"
        history = await env.client.history(execution_id)
        assert len(events_of(history, EventType.REQUEST_SENT)) == 1


async def test_a_request_its_execution_closes_without_answering_raises_execution_closed() -> None:
    async with TestEnvironment(workflows=[req_never_answers]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_never_answers, id=execution_id)
        with pytest.raises(ExecutionClosed) as closed:
            await env.client.request(execution_id, "ask", None, timeout=60)
        assert closed.value.status == "completed"
        assert await handle.result() == "took it and closed"


async def test_a_request_is_answered_once() -> None:
    async with TestEnvironment(workflows=[req_answers_twice]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_answers_twice, id=execution_id)
        assert await env.client.request(execution_id, "ask") == 1
        assert await handle.result() == "refused a second answer"


async def test_messages_and_requests_of_one_name_do_not_mix() -> None:
    async with TestEnvironment(workflows=[req_keeps_messages_apart]) as env:
        execution_id = new_id("req")
        handle = await env.client.start_workflow(req_keeps_messages_apart, id=execution_id)
        asking = asyncio.ensure_future(env.client.request(execution_id, "x", "the request"))
        await env.wait_for_idle()
        assert not asking.done()  # the workflow waits for a message "x": a request is not one
        await env.client.send(execution_id, "x", "the message")
        assert await asking == "after the message"
        assert await handle.result() == ["the message", "the request"]
