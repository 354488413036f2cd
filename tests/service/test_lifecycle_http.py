"""Terminate, delete and retry-now as a service in another language sends them, with API keys and their scopes."""

from __future__ import annotations

import httpx
import pytest

import tether
from tests.service.conftest import bearer, charge, fulfil, key, parked, snapshot
from tether.testing import TestEnvironment


async def test_terminate_closes_the_execution_and_a_second_one_is_409_naming_its_status(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, fulfil, "o1", "term-1")

    first = await http.post("/v1/terminations/term-1", json={"reason": "customer left"})
    outcome = await http.get("/v1/results/term-1")
    before = await snapshot(env, "term-1")
    second = await http.post("/v1/terminations/term-1", json={"reason": "again"})

    assert (first.status_code, first.content) == (204, b"")
    assert outcome.json()["status"] == "terminated"
    assert outcome.json()["error"]["message"] == "customer left"
    assert second.status_code == 409
    assert second.json()["error"] == "execution_closed"
    assert second.json()["details"] == {"execution_id": "term-1", "status": "terminated"}
    assert await snapshot(env, "term-1") == before


async def test_terminate_without_a_reason_in_the_body_is_422(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o2", "term-2")
    before = await snapshot(env, "term-2")

    reply = await http.post("/v1/terminations/term-2", json={})

    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_payload")
    assert await snapshot(env, "term-2") == before


async def test_delete_of_a_running_execution_is_409_and_of_a_closed_one_removes_it(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, fulfil, "o3", "team/del-1")  # an id holding '/', sent as %2F
    before = await snapshot(env, "team/del-1")

    running = await http.delete("/v1/workflows/team%2Fdel-1")
    assert running.status_code == 409
    assert running.json()["error"] == "execution_not_closed"
    assert await snapshot(env, "team/del-1") == before

    await http.post("/v1/terminations/team%2Fdel-1", json={"reason": ""})
    deleted = await http.delete("/v1/workflows/team%2Fdel-1")
    described = await http.get("/v1/workflows/team%2Fdel-1")
    history = await http.get("/v1/histories/team%2Fdel-1")

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (described.status_code, described.json()["error"]) == (404, "execution_not_found")
    assert history.status_code == 404


async def test_retry_now_skips_the_back_off_and_refuses_an_activity_not_in_it(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o4", "retry-1")

    waiting = await http.post("/v1/retries/retry-1", json={"activity_id": 1})
    unknown = await http.post("/v1/retries/retry-1", json={"activity_id": 9})
    await env.engine.fail_activity(token, error="Declined", message="", details=None, non_retryable=False)
    retried = await http.post("/v1/retries/retry-1", json={"activity_id": 1})
    await env.wait_for_idle()

    assert waiting.status_code == 409
    assert waiting.json()["error"] == "activity_not_in_backoff"
    assert waiting.json()["details"] == {"execution_id": "retry-1", "activity_id": 1, "state": "async"}
    assert (unknown.status_code, unknown.json()["error"]) == (404, "activity_not_found")
    assert (retried.status_code, retried.json()) == (200, {"attempt": 2})
    pending = (await env.engine.describe("retry-1")).pending_activities
    assert [(a.attempt, a.state) for a in pending] == [(2, tether.ActivityState.ASYNC)]


async def test_terminate_delete_and_retry_now_need_the_workflow_write_scope(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o5", "scoped-1")
    await env.engine.fail_activity(token, error="Declined", message="", details=None, non_retryable=False)
    await parked(env, charge, "i5", "scoped-2")
    await env.engine.terminate_workflow("scoped-2")
    reader = await key(env, "workflows:read:*")
    billing = await key(env, "workflows:write:billing.*")
    writer = await key(env, "workflows:write:orders.*")
    before = [await snapshot(env, "scoped-1"), await snapshot(env, "scoped-2")]

    refused = [
        await http.post("/v1/retries/scoped-1", json={"activity_id": 1}, headers=bearer(reader)),
        await http.post("/v1/retries/scoped-1", json={"activity_id": 1}, headers=bearer(billing)),
        await http.post("/v1/terminations/scoped-1", json={"reason": "x"}, headers=bearer(reader)),
        await http.post("/v1/terminations/scoped-1", json={"reason": "x"}, headers=bearer(billing)),
        await http.delete("/v1/workflows/scoped-2", headers=bearer(reader)),
        await http.delete("/v1/workflows/scoped-2", headers=bearer(writer)),
    ]

    assert [r.status_code for r in refused] == [403] * 6
    assert refused[0].json()["details"] == {"action": "workflows:write", "workflow": "orders.fulfil"}
    assert [await snapshot(env, "scoped-1"), await snapshot(env, "scoped-2")] == before

    accepted = [
        await http.post("/v1/retries/scoped-1", json={"activity_id": 1}, headers=bearer(writer)),
        await http.post("/v1/terminations/scoped-1", json={"reason": "x"}, headers=bearer(writer)),
        await http.delete("/v1/workflows/scoped-2", headers=bearer(billing)),
    ]
    assert [r.status_code for r in accepted] == [200, 204, 204]


async def test_the_http_client_raises_the_same_refusals_as_the_embedded_one(env: TestEnvironment) -> None:
    await parked(env, fulfil, "o6", "same-1")

    with pytest.raises(tether.errors.ExecutionNotClosed) as running:
        await env.client.delete("same-1")
    await env.client.terminate("same-1", reason="over HTTP")
    with pytest.raises(tether.errors.ExecutionClosed) as closed:
        await env.client.terminate("same-1")

    assert running.value.execution_id == "same-1"
    assert closed.value.status == "terminated"
    with pytest.raises(tether.errors.WorkflowTerminated) as terminated:
        await env.client.get_handle("same-1").result()
    assert terminated.value.reason == "over HTTP"
