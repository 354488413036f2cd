"""With a payload codec, the store and the server hold only ciphertext, and workflows and activities see values."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pydantic
import pytest

import tether
from tests.encryption.store_dump import raw_store_text
from tests.helpers.activity_tests import Mailbox, post_context, result_of
from tether.errors import ActivityFailed, UndecodablePayload
from tether.testing import TestEnvironment

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

CODEC = tether.AesGcmCodec({"k1": os.urandom(32)}, current="k1")

ARG = "arg-7f3a-ana@example.com"
HEARTBEAT = "heartbeat-7f3a-halfway"
FAILURE = "failure-7f3a-card-4111"
FINAL_FAILURE = "final-7f3a-refused-ssn"
RESULT = "result-7f3a-done"
PUBLISHED = "published-7f3a-status"
MESSAGE = "message-7f3a-address"
REQUEST = "request-7f3a-question"
REPLY = "reply-7f3a-answer"
COMPLETION = "completion-7f3a-approved-by-bea"
SECRETS = (ARG, HEARTBEAT, FAILURE, FINAL_FAILURE, RESULT, PUBLISHED, MESSAGE, REQUEST, REPLY, COMPLETION)


class Person(pydantic.BaseModel):
    name: str
    email: str


@tether.activity(retry=tether.RetryPolicy(max_attempts=2))
async def enc_step(person: Person) -> str:
    ctx = tether.context()
    if ctx.attempt == 1:
        await tether.heartbeat({"progress": HEARTBEAT})
        raise ActivityFailed("the first attempt fails", error="Flaky", details={"why": FAILURE})
    assert isinstance(person, Person)
    return f"{ctx.checkpoint['progress']}|{person.email}|{RESULT}"


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def enc_approval(name: str) -> dict[str, Any]:
    post_context()
    return tether.make_async()


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
def enc_refused() -> None:
    raise ActivityFailed("refused", error="Refused", details={"why": FINAL_FAILURE})


@tether.workflow
async def enc_flow(person: Person) -> dict[str, Any]:
    step = await enc_step(person)
    tether.publish("status", {"note": PUBLISHED})
    message = await tether.receive("note")
    request = await tether.receive_request("ask")
    request.reply({"answer": REPLY, "asked": request.payload})
    approval = await enc_approval(person.name)
    try:
        await enc_refused()
    except ActivityFailed as exc:
        refused = exc.details
    return {"step": step, "message": message, "approval": approval, "refused": refused}


ACTIVITIES: list[tether.Activity[..., Any]] = [enc_step, enc_approval, enc_refused]
EXPECTED = {
    "step": f"{HEARTBEAT}|{ARG}|{RESULT}",
    "message": {"text": MESSAGE},
    "approval": {"by": COMPLETION},
    "refused": {"why": FINAL_FAILURE},
}


async def _run_flow(env: TestEnvironment, *, restart: bool) -> tuple[str, dict[str, Any]]:
    box = Mailbox()
    handle = await env.client.start_workflow(enc_flow, Person(name="ana", email=ARG), id=box.id)
    result = asyncio.create_task(result_of(handle))  # waiting for it lets the environment skip the retry's back-off
    await env.client.send(box.id, "note", {"text": MESSAGE})
    reply = await asyncio.wait_for(env.client.request(box.id, "ask", {"q": REQUEST}), 10)
    assert reply == {"answer": REPLY, "asked": {"q": REQUEST}}
    assert (await env.client.published(box.id, "status")).value == {"note": PUBLISHED}
    ctx = await box.context()
    if restart:
        result.cancel()  # it waits on the store the restart closes
        await env.restart()
        result = asyncio.create_task(result_of(handle))
    assert await env.client.complete_activity(ctx.token, {"by": COMPLETION}) is True
    return box.id, await result


@pytest.mark.parametrize("cached", [2000, 0], ids=["cached", "replay-every-task"])
@pytest.mark.parametrize("restart", [False, True], ids=["", "restarted"])
async def test_no_payload_reaches_the_store_in_clear_and_the_code_sees_every_value(cached: int, restart: bool) -> None:
    async with TestEnvironment(
        workflows=[enc_flow], activities=ACTIVITIES, codec=CODEC, max_cached_workflows=cached
    ) as env:
        execution_id, value = await _run_flow(env, restart=restart)
        assert value == EXPECTED
        history = await env.client.history(execution_id)
        stored = await raw_store_text(env)

    assert "tether/encoding" in stored
    assert [secret for secret in SECRETS if secret in stored] == []
    # The history as a reader without the key gets it: names and error types plain, payloads as envelopes.
    by_type = {event.type: event.data for event in history}
    assert by_type["WorkflowStarted"]["args"][0]["tether/encoding"] == "aes-gcm"
    assert by_type["ActivityAttemptFailed"]["failure"]["error"] == "Flaky"
    assert by_type["ActivityAttemptFailed"]["failure"]["message"] == "the first attempt fails"
    assert by_type["ActivityAttemptFailed"]["failure"]["details"]["key"] == "k1"
    assert by_type["ActivityScheduled"]["name"] == "enc_refused"


async def test_a_completion_repeated_by_a_codec_holder_is_acknowledged_as_the_same_one() -> None:
    async with TestEnvironment(
        workflows=[enc_flow], activities=[enc_step, enc_approval, enc_refused], codec=CODEC
    ) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(enc_flow, Person(name="ana", email=ARG), id=box.id)
        result = asyncio.create_task(result_of(handle))
        await env.client.send(box.id, "note", {"text": MESSAGE}, key="m-1")
        # The same keyed message again (a retry of the sender) is the same message, though encrypted anew.
        assert await env.client.send(box.id, "note", {"text": MESSAGE}, key="m-1") is False
        await env.client.request(box.id, "ask", {"q": REQUEST})
        ctx = await box.context()
        assert await env.client.complete_activity(ctx.token, {"by": COMPLETION}) is True
        assert await env.client.complete_activity(ctx.token, {"by": COMPLETION}) is False
        assert await result == EXPECTED
        history = await env.client.history(box.id)

    # The history replays against the code with the codec, and not without it.
    tether.testing.replay(enc_flow, history, id=box.id, codec=CODEC)
    with pytest.raises(UndecodablePayload):
        tether.testing.replay(enc_flow, history, id=box.id)
