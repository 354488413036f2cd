"""Who holds the codec decides who reads: rotated keys, workers without the key, altered data, schemas, the UI."""

from __future__ import annotations

import asyncio
import base64
import html
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.helpers.activity_tests import Mailbox, post_context, result_of, snapshot
from tether.errors import InvalidPayload, WorkflowFailed
from tether.model.codecs import PayloadCodec
from tether.service import app as service_app
from tether.service import server as service_server
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment, VirtualClock

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

K1, K2 = os.urandom(32), os.urandom(32)
OLD = tether.AesGcmCodec({"k1": K1}, current="k1")
ROTATED = tether.AesGcmCodec({"k1": K1, "k2": K2}, current="k2")
ONLY_NEW = tether.AesGcmCodec({"k2": K2}, current="k2")


class Receipt(pydantic.BaseModel):
    amount: int
    to: str


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def holder_pay(to: str) -> Receipt:
    post_context()
    return tether.make_async()


@tether.workflow
async def holder_collect(first: str) -> list[Any]:
    """Takes two notes and a payment, and returns what it received."""
    second = await tether.receive("note")
    receipt = await holder_pay(first)
    return [first, second, receipt.model_dump()]


@tether.workflow(messages={"typed": Receipt})
async def holder_typed() -> str:
    try:
        got = await tether.receive("typed")
    except InvalidPayload as exc:
        return f"refused: {exc.errors[0]['loc']}"
    return f"got {got!r}"


@asynccontextmanager
async def connected(url: str, clock: VirtualClock, codec: PayloadCodec | None) -> AsyncIterator[tether.Client]:
    client = await tether.Client.connect(url, clock=clock, codec=codec)
    try:
        yield client
    finally:
        await client.close()


def worker(client: tether.Client, **options: Any) -> tether.Worker:
    return tether.Worker(client, workflows=[holder_collect, holder_typed], activities=[holder_pay], **options)


async def test_payloads_written_with_an_old_key_still_decode_after_the_key_rotates(store_url: str) -> None:
    clock = VirtualClock()
    box = Mailbox()
    async with connected(store_url, clock, OLD) as client, worker(client) as running:
        await client.start_workflow(holder_collect, "first under k1", id=box.id)
        await running.wait_for_idle()

    async with connected(store_url, clock, ROTATED) as client, worker(client):
        await client.send(box.id, "note", "second under k2")
        ctx = await box.context()
        await client.complete_activity(ctx.token, {"amount": 3, "to": "bea"})
        assert await result_of(client.get_handle(box.id)) == [
            "first under k1",
            "second under k2",
            {"amount": 3, "to": "bea"},
        ]
        history = await client.history(box.id)

    keys = {e.type: e.data for e in history}
    assert keys["WorkflowStarted"]["args"][0]["key"] == "k1"
    assert keys["MessageSent"]["payload"]["key"] == "k2"
    assert keys["WorkflowCompleted"]["result"]["key"] == "k2"


async def test_a_worker_without_the_codec_fails_the_task_clearly_and_one_with_it_carries_on(store_url: str) -> None:
    clock = VirtualClock()
    box = Mailbox()
    async with connected(store_url, clock, OLD) as holder:
        handle = await holder.start_workflow(holder_collect, "secret", id=box.id)
        async with connected(store_url, clock, None) as plain, worker(plain) as running:
            await running.wait_for_idle()
            error = (await handle.describe()).task_error
            assert box.empty()  # no code ran on ciphertext
        assert error is not None
        assert error["error"] == "UndecodablePayload"
        assert "encoded (aes-gcm, key k1)" in str(error["message"])
        assert error["details"] == {"encoding": "aes-gcm", "key": "k1"}

        # A worker with a codec that lacks the key fails it the same way, naming the key it lacks.
        async with connected(store_url, clock, ONLY_NEW) as wrong, worker(wrong) as running:
            await wrong.send(box.id, "note", "second")  # a new event offers the task again
            await running.wait_for_idle()
            error = (await handle.describe()).task_error
        assert error is not None
        assert error["details"] == {"encoding": "aes-gcm", "key": "k1"}
        assert "no such key" in str(error["message"])

        # A worker with both keys (k1 of the start, k2 of the message) carries on.
        async with connected(store_url, clock, ROTATED) as rotated, worker(rotated):
            ctx = await box.context()
            await rotated.complete_activity(ctx.token, {"amount": 1, "to": "ann"})
            assert await result_of(rotated.get_handle(box.id)) == ["secret", "second", {"amount": 1, "to": "ann"}]


async def test_altered_ciphertext_fails_the_task_and_nothing_of_it_runs(store_url: str) -> None:
    clock = VirtualClock()
    box = Mailbox()
    # A client without the codec passes an altered envelope on as it is (the store cannot tell);
    # the worker, given the codec itself, is the one that finds out.
    async with connected(store_url, clock, None) as plain, worker(plain, codec=OLD) as running:
        handle = await plain.start_workflow(holder_collect, "first", id=box.id)
        await plain.send(box.id, "note", "second")
        ctx = await box.context()
        envelope = OLD.encode({"amount": 5, "to": "eve"})
        data = bytearray(base64.urlsafe_b64decode(envelope["data"] + "=="))
        data[0] ^= 1
        envelope["data"] = base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")
        assert await plain.complete_activity(ctx.token, envelope) is True
        await running.wait_for_idle()
        description, history = await snapshot(plain, handle.id)
        assert description.status == tether.WorkflowStatus.RUNNING
        assert description.task_error is not None
        assert description.task_error["error"] == "UndecodablePayload"
        assert "altered" in str(description.task_error["message"])
        assert [e.type for e in history[-2:]] == ["ActivityCompleted", "WorkflowTaskFailed"]
        with pytest.raises(tether.errors.UndecodablePayload):
            OLD.decode(envelope)


async def test_encoded_payloads_skip_the_servers_schema_checks_and_the_decoding_worker_checks_them(
    store_url: str,
) -> None:
    clock = VirtualClock()
    async with connected(store_url, clock, OLD) as holder, worker(holder) as running:
        box = Mailbox()
        handle = await holder.start_workflow(holder_collect, "first", id=box.id)
        await holder.send(box.id, "note", "second")
        ctx = await box.context()
        # The store cannot read the result to check it against Receipt: it takes it ...
        assert await holder.complete_activity(ctx.token, {"amount": "lots"}) is True
        # ... and the workflow, which decodes it, refuses it as the wrong type.
        with pytest.raises(WorkflowFailed) as failed:
            await result_of(handle)
        assert failed.value.error == "InvalidPayload"

        typed = await holder.start_workflow(holder_typed)
        assert await holder.send(typed.id, "typed", {"amount": "lots"}) is True
        assert (await result_of(typed)).startswith("refused: ")
        await running.wait_for_idle()

    async with connected(store_url, clock, None) as plain, worker(plain):
        # Without a codec the store checks, as before: nothing is sent.
        typed = await plain.start_workflow(holder_typed)
        with pytest.raises(InvalidPayload):
            await plain.send(typed.id, "typed", {"amount": "lots"})


@asynccontextmanager
async def ui(env: TestEnvironment, codec: PayloadCodec | None) -> AsyncIterator[httpx.AsyncClient]:
    """A real loopback server over ``env``'s store, holding ``codec`` for its UI."""
    app = service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True), codec=codec)
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    task = asyncio.ensure_future(server.serve_on(sock))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_server.port_of(sock)}") as http:
            yield http
    finally:
        server.stop()
        await task


async def test_the_ui_shows_encoded_payloads_as_such_unless_its_server_holds_the_key() -> None:
    async with TestEnvironment(workflows=[holder_collect], activities=[holder_pay], codec=ROTATED) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(holder_collect, "ana@example.com", id=box.id)
        await env.client.send(box.id, "note", "second")
        ctx = await box.context()
        await env.client.complete_activity(ctx.token, {"amount": 7, "to": "bea@example.com"})
        await result_of(handle)

        async with ui(env, None) as blind:
            page = html.unescape((await blind.get(f"/executions/{box.id}")).text)
        assert "encoded (aes-gcm, key k2)" in page
        assert "ana@example.com" not in page
        assert "bea@example.com" not in page

        async with ui(env, ONLY_NEW) as keyed:
            page = html.unescape((await keyed.get(f"/executions/{box.id}")).text)
        assert "ana@example.com" in page
        assert "bea@example.com" in page
        assert "encoded (aes-gcm, key k2)" not in page
