"""Callback URLs over a real loopback server: no API key, the URL's token is the permission, refusals change nothing.

What a third party (a payment provider's webhook) sees: a plain POST to the URL an activity
made, answered ``{"recorded": bool}`` or refused with a status and an error body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.helpers.activity_tests import (
    Mailbox,
    advance,
    of_type,
    post,
    result_of,
)
from tests.service.conftest import bearer, key
from tests.tokens.test_token_refusals import _altered, _flip_last_signature_char, _forged
from tether.errors import UsageError
from tether.model import callback_tokens
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=30)


class Receipt(pydantic.BaseModel):
    id: str
    amount: int


@tether.activity(name="cb.charge", retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1)))
async def cb_charge(order: str, expires: float | None) -> Receipt:
    ctx = tether.context()
    post(
        {
            "attempt": ctx.attempt,
            "token": ctx.token,
            "complete": ctx.callback_url(expires=expires),
            "fail": ctx.callback_url("fail", expires=expires),
        }
    )
    return tether.make_async()


@tether.activity(name="cb.charge_heartbeated", heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=2))
async def cb_charge_heartbeated(order: str) -> Receipt:
    post({"attempt": tether.context().attempt, "complete": tether.context().callback_url()})
    return tether.make_async()


@tether.workflow(name="cb.order")
async def cb_order(order: str, expires: float | None = None) -> str:
    try:
        receipt = await cb_charge(order, expires)
    except tether.errors.ActivityFailed as exc:
        return f"{order} not paid: {exc.error}: {exc.message}"
    return f"{order} paid {receipt.amount} ({receipt.id})"


@tether.workflow(name="cb.order_heartbeated")
async def cb_order_heartbeated(order: str) -> str:
    receipt = await cb_charge_heartbeated(order)
    return f"{order} paid {receipt.amount}"


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    """A worker, a store (each backend) and the HTTP API on a loopback port, which callback URLs point at."""
    async with TestEnvironment(
        workflows=[cb_order, cb_order_heartbeated], activities=[cb_charge, cb_charge_heartbeated], transport="http"
    ) as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client holding no API key, as a third party calling back would be."""
    async with httpx.AsyncClient() as client:
        yield client


async def waiting(
    env: TestEnvironment, order: str, expires: float | None = None
) -> tuple[Mailbox, Any, dict[str, Any]]:
    """Start an order whose charge waits for its callback; the mailbox, the handle and the attempt's URLs."""
    box = Mailbox()
    handle = await env.client.start_workflow(cb_order, order, expires, id=box.id)
    urls = await box.get()
    assert isinstance(urls, dict)
    await env.wait_for_idle()
    return box, handle, urls


async def snapshot(env: TestEnvironment, execution_id: str) -> tuple[tether.WorkflowDescription, list[Any]]:
    return await env.engine.describe(execution_id), await env.engine.history(execution_id)


def refused(reply: httpx.Response, status: int, code: str) -> None:
    assert reply.status_code == status, reply.text
    assert set(reply.json()) == {"error", "message", "details"}
    assert reply.json()["error"] == code


RECEIPT = {"id": "ch_1", "amount": 42}


async def test_a_callback_url_completes_the_activity_without_an_api_key_on_a_server_that_requires_keys(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, _, urls = await waiting(env, "A-1")
    admin = await key(env, "*:*:*")
    assert urls["complete"].startswith(f"{env.server_url}/v1/callbacks/complete/")
    assert (await http.get(f"{env.server_url}/v1/workflows/{box.id}")).status_code == 401  # keys are required

    reply = await http.post(urls["complete"], json=RECEIPT)

    assert (reply.status_code, reply.json()) == (200, {"recorded": True})
    assert await env.engine.wait_for_close(box.id, timeout=10) is not None
    described = await http.get(f"{env.server_url}/v1/workflows/{box.id}", headers=bearer(admin))
    assert described.json()["status"] == "completed"


async def test_a_fail_url_fails_the_attempt_and_the_next_one_runs_by_policy(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, handle, urls = await waiting(env, "A-2")
    failure = {"error": "CardDeclined", "message": "insufficient funds", "details": {"code": 51}}

    reply = await http.post(urls["fail"], json=failure)

    assert (reply.status_code, reply.json()) == (200, {"recorded": True})
    (failed,) = of_type(await env.client.history(box.id), "ActivityAttemptFailed")
    assert failed.data["failure"]["error"] == "CardDeclined"
    assert failed.data["failure"]["details"] == {"code": 51}
    await advance(env, timedelta(seconds=1))  # the back-off
    second = await box.get()
    assert isinstance(second, dict)
    assert second["attempt"] == 2
    assert second["complete"] != urls["complete"]
    assert (await http.post(second["complete"], json=RECEIPT)).json() == {"recorded": True}
    assert await result_of(handle) == "A-2 paid 42 (ch_1)"


async def test_a_non_retryable_failure_by_url_fails_the_activity(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    _, handle, urls = await waiting(env, "A-3")

    reply = await http.post(urls["fail"], json={"error": "Fraud", "message": "blocked", "non_retryable": True})

    assert reply.json() == {"recorded": True}
    assert await result_of(handle) == "A-3 not paid: Fraud: blocked"


ALTERATIONS: dict[str, Callable[[str], str]] = {
    "execution id in the body": _altered(3, "someone-else"),
    "activity id in the body": _altered(4, 2),
    "attempt in the body": _altered(5, 2),
    "action in the body": _altered(2, "fail"),
    "expiry in the body": _altered(6, 1),
    "key id in the body": _altered(0, 99),
    "signature": _flip_last_signature_char,
    "signature forged with another key": _forged,
    "signature removed": lambda t: t.split(".")[0],
    "truncated by one": lambda t: t[:-1],
    "padding appended": lambda t: t + "=",
    "'+' for '-'": lambda t: t.replace("-", "+", 1) if "-" in t else t[:-1] + "+",
    "extra path segment": lambda t: t + "/x",
    "empty": lambda t: "",
}


@pytest.mark.parametrize("alteration", list(ALTERATIONS))
async def test_an_altered_url_is_400_and_changes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient, alteration: str
) -> None:
    box, _, urls = await waiting(env, "A-4")
    base, _, token = urls["complete"].rpartition("/")
    before = await snapshot(env, box.id)

    reply = await http.post(f"{base}/{ALTERATIONS[alteration](token)}", json=RECEIPT)

    refused(reply, 400, "invalid_token")
    assert await snapshot(env, box.id) == before


async def test_a_url_posted_to_the_other_action_is_400_and_changes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, _, urls = await waiting(env, "A-5")
    before = await snapshot(env, box.id)

    as_fail = await http.post(urls["complete"].replace("/complete/", "/fail/"), json={"error": "Declined"})
    as_complete = await http.post(urls["fail"].replace("/fail/", "/complete/"), json=RECEIPT)

    refused(as_fail, 400, "invalid_token")
    refused(as_complete, 400, "invalid_token")
    assert "made to complete" in as_fail.json()["message"]
    assert await snapshot(env, box.id) == before


async def test_an_activity_token_is_no_callback_token_nor_the_reverse(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, _, urls = await waiting(env, "A-6")
    callback_token = urls["complete"].rpartition("/")[2]
    before = await snapshot(env, box.id)

    by_url = await http.post(f"{env.server_url}/v1/callbacks/complete/{urls['token']}", json=RECEIPT)
    with pytest.raises(tether.errors.InvalidToken):
        await env.client.complete_activity(callback_token, RECEIPT)

    refused(by_url, 400, "invalid_token")
    assert await snapshot(env, box.id) == before


async def test_a_url_is_taken_until_its_expiry_and_gets_410_from_then_on_changing_nothing(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    _, early, early_urls = await waiting(env, "A-7", expires=3600)
    late_box, _, late_urls = await waiting(env, "A-8", expires=3600)
    made_at = env.clock.now()

    await advance(env, timedelta(seconds=3599))
    taken = await http.post(early_urls["complete"], json=RECEIPT)
    await advance(env, timedelta(seconds=1))
    before = await snapshot(env, late_box.id)
    expired = await http.post(late_urls["complete"], json=RECEIPT)
    expired_fail = await http.post(late_urls["fail"], json={"error": "Declined"})

    assert taken.json() == {"recorded": True}
    assert await result_of(early) == "A-7 paid 42 (ch_1)"
    refused(expired, 410, "callback_expired")
    refused(expired_fail, 410, "callback_expired")
    assert expired.json()["details"] == {"expired_at": (made_at + timedelta(hours=1)).isoformat()}
    assert await snapshot(env, late_box.id) == before


async def test_a_url_of_attempt_1_after_attempt_2_started_is_409_stale_token(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, _, urls = await waiting(env, "A-9")
    await env.client.fail_activity(urls["token"], error="Transient")
    await advance(env, timedelta(seconds=1))
    assert (await box.get())["attempt"] == 2  # type: ignore[index]  # the activity posts a dict
    await env.wait_for_idle()
    before = await snapshot(env, box.id)

    reply = await http.post(urls["complete"], json=RECEIPT)

    refused(reply, 409, "stale_token")
    assert reply.json()["details"] == {"token_attempt": 1, "current_attempt": 2}
    assert await snapshot(env, box.id) == before


async def test_a_repeated_callback_is_acknowledged_as_not_recorded_and_another_is_409(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, handle, urls = await waiting(env, "A-10")
    first = await http.post(urls["complete"], json=RECEIPT)
    await result_of(handle)
    before = await snapshot(env, box.id)

    again = await http.post(urls["complete"], json={"amount": 42, "id": "ch_1"})  # the same JSON, spelt otherwise
    other = await http.post(urls["complete"], json={"id": "ch_2", "amount": 1})
    fail = await http.post(urls["fail"], json={"error": "Declined"})

    assert (first.json(), again.json()) == ({"recorded": True}, {"recorded": False})
    refused(other, 409, "activity_already_closed")
    refused(fail, 409, "activity_already_closed")
    assert other.json()["details"]["final_state"] == "completed"
    assert await snapshot(env, box.id) == before


async def test_a_repeated_fail_callback_is_acknowledged_during_the_back_off(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box, _, urls = await waiting(env, "A-11")
    failure = {"error": "Timeout", "message": "the bank did not answer"}
    first = await http.post(urls["fail"], json=failure)
    before = await snapshot(env, box.id)

    again = await http.post(urls["fail"], json=failure)

    assert (first.json(), again.json()) == ({"recorded": True}, {"recorded": False})
    assert await snapshot(env, box.id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [({"id": "ch_1", "amount": "lots"}, "amount"), ({"id": "ch_1"}, "amount"), ("paid", "result")],
)
async def test_a_result_of_the_wrong_type_is_422_and_changes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient, body: Any, field: str
) -> None:
    box, _, urls = await waiting(env, "A-12")
    before = await snapshot(env, box.id)

    reply = await http.post(urls["complete"], json=body)

    refused(reply, 422, "invalid_payload")
    assert any(field in error["loc"] for error in reply.json()["details"]["errors"])
    assert await snapshot(env, box.id) == before


@pytest.mark.parametrize(
    ("action", "content"),
    [("complete", b"{not json"), ("complete", b""), ("fail", b"{}"), ("fail", b'{"error": "X", "extra": 1}')],
    ids=["not json", "empty", "failure without error", "failure with an unknown field"],
)
async def test_a_malformed_body_is_422_and_changes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient, action: str, content: bytes
) -> None:
    box, _, urls = await waiting(env, "A-13")
    before = await snapshot(env, box.id)

    reply = await http.post(urls[action], content=content, headers={"Content-Type": "application/json"})

    refused(reply, 422, "invalid_payload")
    assert await snapshot(env, box.id) == before


async def test_a_call_after_a_passed_deadline_is_refused_with_the_deadline_applied(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    box = Mailbox()
    await env.client.start_workflow(cb_order_heartbeated, "A-14", id=box.id)
    urls = await box.get()
    assert isinstance(urls, dict)
    await env.wait_for_idle()
    await env.worker.crash()  # no timer fires now: only the late call can notice the deadline
    started = env.clock.now()

    env.clock.advance(HEARTBEAT + timedelta(seconds=5))
    reply = await http.post(urls["complete"], json=RECEIPT)

    refused(reply, 409, "stale_token")
    history = await env.client.history(box.id)
    assert of_type(history, "ActivityCompleted") == []
    (failed,) = of_type(history, "ActivityAttemptFailed")
    assert (failed.at, failed.data["failure"]["kind"]) == (started + HEARTBEAT, "heartbeat")


async def test_a_url_signed_before_a_key_rotation_still_completes_and_new_ones_use_the_new_key(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    _, before_rotation, old_urls = await waiting(env, "A-15")
    new_key = await env.engine.rotate_signing_key()
    _, after_rotation, new_urls = await waiting(env, "A-16")

    def key_id(url: str) -> int:
        return callback_tokens.key_id_of(url.rpartition("/")[2])

    assert (key_id(old_urls["complete"]), key_id(new_urls["complete"])) == (1, new_key)
    assert (await http.post(old_urls["complete"], json=RECEIPT)).json() == {"recorded": True}
    assert (await http.post(new_urls["complete"], json=RECEIPT)).json() == {"recorded": True}
    assert await result_of(before_rotation) == "A-15 paid 42 (ch_1)"
    assert await result_of(after_rotation) == "A-16 paid 42 (ch_1)"


async def test_the_openapi_document_names_the_routes_without_a_key_and_with_their_refusals(
    http: httpx.AsyncClient, env: TestEnvironment
) -> None:
    document = (await http.get(f"{env.server_url}/v1/openapi.json")).json()

    for action, operation_id in (("complete", "completeByCallback"), ("fail", "failByCallback")):
        operation = document["paths"][f"/v1/callbacks/{action}/{{token}}"]["post"]
        assert operation["operationId"] == operation_id
        assert operation["security"] == []
        assert {"400", "409", "410", "422"} <= set(operation["responses"])
        assert operation["requestBody"]["required"] is True
    assert "callback_url()" in json.dumps(document["paths"]["/v1/callbacks/complete/{token}"])


def test_a_public_url_that_is_not_an_absolute_http_url_is_refused() -> None:
    for bad in ("tether.example.com", "ftp://host", "https://", "https://host/?x=1", "https://host/#top", "http://h:x"):
        with pytest.raises(UsageError):
            callback_tokens.public_base(bad)
    assert callback_tokens.public_base(" https://host/base/ ") == "https://host/base"
