"""API keys and scopes: who may read, start, cancel, and close activities of which workflows."""

from __future__ import annotations

from datetime import timedelta

import httpx
import psycopg
import pytest

import tether
from tests.helpers.closing import terminate
from tests.service.conftest import bearer, charge, fulfil, key, parked, snapshot
from tether.errors import PermissionDenied, Unauthenticated
from tether.model.records import WorkflowStatus
from tether.testing import TestEnvironment

APPROVAL = {"by": "ana", "amount": 3}


async def test_server_without_keys_on_loopback_serves_requests_without_a_key(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "open-1")

    reply = await http.post("/v1/activities/complete", json={"token": token, "result": APPROVAL})

    assert reply.status_code == 200
    assert await env.client.get_handle("open-1").result() == "o1 approved by ana for 3"


async def test_once_a_key_exists_a_request_without_one_is_refused_with_401(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "nokey-1")
    await key(env, "*:*:*")
    before = await snapshot(env, "nokey-1")

    reply = await http.post("/v1/activities/complete", json={"token": token, "result": APPROVAL})

    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["error"] == "unauthenticated"
    assert await snapshot(env, "nokey-1") == before


@pytest.mark.parametrize(
    "presented",
    ["tether_000000000000_wrong", "not-a-tether-key", "tether_", "tether_abc"],
    ids=["unknown id", "foreign format", "prefix only", "no secret"],
)
async def test_unknown_or_malformed_key_is_refused_with_401(
    env: TestEnvironment, http: httpx.AsyncClient, presented: str
) -> None:
    await key(env, "*:*:*")

    reply = await http.get("/v1/workflows", headers=bearer(presented))

    assert reply.status_code == 401
    assert reply.json()["error"] == "unauthenticated"


async def test_key_with_a_wrong_secret_is_refused(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    real = await key(env, "*:*:*")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")

    assert (await http.get("/v1/workflows", headers=bearer(forged))).status_code == 401
    assert (await http.get("/v1/workflows", headers=bearer(real))).status_code == 200


async def test_revoked_key_is_refused_at_its_next_request(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    token = await parked(env, fulfil, "o1", "revoked-1")
    plain = await key(env, "activities:write:orders.*", name="billing-consumer")
    await key(env, "*:*:*", name="admin")  # another key stays active
    assert (
        await http.post("/v1/activities/heartbeat", json={"token": token}, headers=bearer(plain))
    ).status_code == 200

    revoked = await env.engine.revoke_api_key("billing-consumer")
    before = await snapshot(env, "revoked-1")
    reply = await http.post("/v1/activities/complete", json={"token": token, "result": APPROVAL}, headers=bearer(plain))

    assert revoked.revoked_at is not None
    assert reply.status_code == 401
    assert "revoked" in reply.json()["message"]
    assert await snapshot(env, "revoked-1") == before


async def test_key_revoked_by_another_process_is_refused_at_its_next_request(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "revoked-elsewhere-1")
    plain = await key(env, "activities:write:orders.*", name="billing-consumer")
    for _ in range(2):  # the server has read the key since it was created, and found it valid
        reply = await http.post("/v1/activities/heartbeat", json={"token": token}, headers=bearer(plain))
        assert reply.status_code == 200

    async with await tether.Client.connect(env.url) as elsewhere:  # its own store, as `tether keys revoke` opens
        await elsewhere.engine.revoke_api_key("billing-consumer")
    before = await snapshot(env, "revoked-elsewhere-1")
    reply = await http.post("/v1/activities/heartbeat", json={"token": token}, headers=bearer(plain))

    assert reply.status_code == 401
    assert reply.json()["message"] == "the API key was revoked"
    assert await snapshot(env, "revoked-elsewhere-1") == before


async def test_first_key_created_by_another_process_closes_a_server_open_without_keys(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "closed-elsewhere-1")
    for _ in range(2):  # the server has found no key, twice
        assert (await http.post("/v1/activities/heartbeat", json={"token": token})).status_code == 200

    async with await tether.Client.connect(env.url) as elsewhere:
        _, plain = await elsewhere.engine.create_api_key("first", ["*:*:*"])
    reply = await http.post("/v1/activities/heartbeat", json={"token": token})

    assert reply.status_code == 401
    assert reply.json()["error"] == "unauthenticated"
    assert (
        await http.post("/v1/activities/heartbeat", json={"token": token}, headers=bearer(plain))
    ).status_code == 200


async def test_valid_token_with_a_key_scoped_to_other_workflows_gets_403_and_changes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "scoped-1")
    billing_only = await key(env, "activities:write:billing.*")
    before = await snapshot(env, "scoped-1")

    for path, body in [
        ("/v1/activities/complete", {"token": token, "result": APPROVAL}),
        ("/v1/activities/fail", {"token": token, "error": "Nope"}),
        ("/v1/activities/heartbeat", {"token": token, "details": {"i": 1}}),
        ("/v1/activities/cancelled", {"token": token}),
    ]:
        reply = await http.post(path, json=body, headers=bearer(billing_only))
        assert reply.status_code == 403, path
        assert reply.json()["error"] == "permission_denied"
        assert reply.json()["details"] == {"action": "activities:write", "workflow": "orders.fulfil"}

    assert await snapshot(env, "scoped-1") == before


async def test_key_scoped_to_the_tokens_workflow_completes_it(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    token = await parked(env, fulfil, "o2", "scoped-2")
    orders_writer = await key(env, "activities:write:orders.*")

    reply = await http.post(
        "/v1/activities/complete", json={"token": token, "result": APPROVAL}, headers=bearer(orders_writer)
    )

    assert reply.status_code == 200
    assert reply.json() == {"recorded": True}
    final = await env.engine.wait_for_close("scoped-2")
    assert final.status == "completed"


async def test_write_scope_does_not_grant_reading(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o3", "scoped-3")
    writer = await key(env, "activities:write:*")

    for path in ["/v1/workflows/scoped-3", "/v1/histories/scoped-3", "/v1/results/scoped-3"]:
        reply = await http.get(path, headers=bearer(writer))
        assert reply.status_code == 403, path
        assert reply.json()["details"]["action"] == "workflows:read"


async def test_listing_shows_only_workflows_the_key_may_read(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o4", "list-orders")
    await parked(env, charge, "i4", "list-billing")
    reader = await key(env, "workflows:read:billing.*")

    reply = await http.get("/v1/workflows", headers=bearer(reader))

    assert reply.status_code == 200
    assert [item["id"] for item in reply.json()["items"]] == ["list-billing"]


async def test_start_needs_the_start_scope_for_that_workflow(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    starter = await key(env, "workflows:start:billing.*")

    refused = await http.post(
        "/v1/workflows", json={"workflow": "orders.fulfil", "args": ["o5"], "id": "start-1"}, headers=bearer(starter)
    )
    started = await http.post(
        "/v1/workflows", json={"workflow": "billing.charge", "args": ["i5"], "id": "start-2"}, headers=bearer(starter)
    )

    assert refused.status_code == 403
    assert refused.json()["details"] == {"action": "workflows:start", "workflow": "orders.fulfil"}
    assert started.status_code == 201
    assert started.json() == {"id": "start-2", "workflow": "billing.charge", "started": True}
    assert [s.id for s in await env.engine.list_workflows(status=None, workflow=None, limit=10, offset=0)] == [
        "start-2"
    ]


async def test_cancel_needs_the_workflow_write_scope(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o6", "cancel-1")
    reader = await key(env, "workflows:read:*")
    canceller = await key(env, "workflows:write:orders.*")
    before = await snapshot(env, "cancel-1")

    refused = await http.post("/v1/cancellations/cancel-1", headers=bearer(reader))
    assert refused.status_code == 403
    assert await snapshot(env, "cancel-1") == before

    accepted = await http.post("/v1/cancellations/cancel-1", headers=bearer(canceller))
    assert accepted.status_code == 202
    assert (await env.engine.describe("cancel-1")).cancel_requested


async def test_messages_and_requests_need_the_send_scope_for_that_workflow(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, fulfil, "o9", "send-1")
    writer = await key(env, "workflows:write:*")
    other = await key(env, "workflows:send:billing.*")
    sender = await key(env, "workflows:send:orders.*")
    before = await snapshot(env, "send-1")

    for refused_key in (writer, other):
        refused = await http.post("/v1/messages/send-1", json={"name": "note"}, headers=bearer(refused_key))
        assert refused.status_code == 403
        asked = await http.post("/v1/requests/send-1", json={"name": "ask"}, headers=bearer(refused_key))
        assert asked.status_code == 403
    assert await snapshot(env, "send-1") == before

    accepted = await http.post("/v1/messages/send-1", json={"name": "note", "payload": 1}, headers=bearer(sender))
    assert accepted.status_code == 200
    assert accepted.json() == {"message_id": accepted.json()["message_id"], "stored": True, "started": False}
    asked = await http.post("/v1/requests/send-1", json={"name": "ask", "wait": 0}, headers=bearer(sender))
    assert (asked.status_code, asked.json()["state"]) == (200, "pending")
    assert [m.name for m in (await env.engine.describe("send-1")).messages] == ["note", "ask"]


async def test_resume_needs_the_workflow_write_scope_and_a_failed_execution(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, fulfil, "o8", "resume-1")
    reader = await key(env, "workflows:read:*")
    writer = await key(env, "workflows:write:orders.*")
    before = await snapshot(env, "resume-1")

    refused = await http.post("/v1/resumptions/resume-1", json={"timeout": None}, headers=bearer(reader))
    assert refused.status_code == 403
    running = await http.post("/v1/resumptions/resume-1", json={"timeout": 60}, headers=bearer(writer))
    assert running.status_code == 409
    assert running.json()["error"] == "execution_not_resumable"
    assert running.json()["details"] == {"execution_id": "resume-1", "status": "running"}
    assert await snapshot(env, "resume-1") == before

    await terminate(env.engine, "resume-1")
    accepted = await http.post("/v1/resumptions/resume-1", json={"timeout": 60}, headers=bearer(writer))
    assert accepted.status_code == 202
    description = await env.engine.describe("resume-1")
    assert description.status == WorkflowStatus.RUNNING
    assert description.deadline == env.clock.now() + timedelta(seconds=60)


async def test_http_client_with_a_scoped_key_raises_the_same_errors_as_the_embedded_one(env: TestEnvironment) -> None:
    token = await parked(env, fulfil, "o7", "client-1")
    billing_only = await key(env, "activities:write:billing.*", "workflows:read:billing.*")
    assert env.server_url is not None

    async with await tether.Client.connect(env.server_url, api_key=billing_only) as client:
        with pytest.raises(PermissionDenied) as denied:
            await client.complete_activity(token, APPROVAL)
        with pytest.raises(PermissionDenied):
            await client.describe("client-1")
    async with await tether.Client.connect(env.server_url) as anonymous:
        with pytest.raises(Unauthenticated):
            await anonymous.list_workflows()

    assert denied.value.workflow == "orders.fulfil"
    assert denied.value.action == "activities:write"


@pytest.mark.parametrize(
    "scope",
    ["activities", "activities:delete:*", "jobs:write:*", "workflows:write:orders[0]", "workflows:read:a b"],
)
async def test_malformed_scope_is_refused_when_the_key_is_created(env: TestEnvironment, scope: str) -> None:
    with pytest.raises(tether.errors.InvalidPayload):
        await env.engine.create_api_key("bad", [scope])

    assert await env.engine.list_api_keys() == []


async def test_keys_are_stored_hashed_and_listed_without_their_secret(env: TestEnvironment) -> None:
    info, plain = await env.engine.create_api_key("billing-consumer", ["activities:write:orders.*"])
    secret = plain.split("_", 2)[2]

    listed = await env.engine.list_api_keys()
    stored = await _stored_bytes(env)

    assert plain.startswith(f"tether_{info.key_id}_")
    assert [(k.key_id, k.name, k.scopes, k.revoked_at) for k in listed] == [
        (info.key_id, "billing-consumer", ["activities:write:orders.*"], None)
    ]
    assert secret.encode() not in stored
    assert info.key_id.encode() in stored


async def _stored_bytes(env: TestEnvironment) -> bytes:
    """Everything the store keeps, as bytes: the SQLite files, or PostgreSQL's table of keys."""
    if env.url.startswith("postgresql"):
        async with await psycopg.AsyncConnection.connect(env.url) as conn:
            cursor = await conn.execute("SELECT * FROM tether.api_keys")
            return repr(await cursor.fetchall()).encode()
    files = [env.path, env.path.with_name(env.path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_a_caller_without_a_valid_key_is_refused_before_its_body_is_read(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await key(env, "*:*:*")

    malformed = await http.post("/v1/workflows", content=b"{not json", headers={"Content-Type": "application/json"})
    unknown_key = await http.post(
        "/v1/activities/complete", content=b"[" * 10_000, headers={**bearer("tether_000000000000_x")}
    )
    open_paths = [await http.get(path) for path in ("/v1/health", "/v1/openapi.json")]

    assert (malformed.status_code, malformed.json()["error"]) == (401, "unauthenticated")
    assert (unknown_key.status_code, unknown_key.json()["error"]) == (401, "unauthenticated")
    assert [reply.status_code for reply in open_paths] == [200, 200]
