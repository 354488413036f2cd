"""The error table over HTTP: each refusal has its status and code, a body naming the facts, and changes nothing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tests.service.conftest import activity_token_key, bearer, charge, fulfil, key, parked, snapshot
from tether.errors import ServerUnreachable
from tether.service import app as service_app
from tether.service import server as service_server
from tether.service import state as service_state
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment

APPROVAL = {"by": "ana", "amount": 3}


async def test_forged_token_is_400_invalid_token(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    token = await parked(env, fulfil, "o1", "err-forged")
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    before = await snapshot(env, "err-forged")

    reply = await http.post("/v1/activities/complete", json={"token": forged, "result": APPROVAL})

    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_token"
    assert set(reply.json()) == {"error", "message", "details"}
    assert await snapshot(env, "err-forged") == before


async def test_stale_token_is_409_naming_both_attempts(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    token = await parked(env, fulfil, "o1", "err-stale")
    await http.post("/v1/activities/fail", json={"token": token, "error": "Transient"})
    await env.advance(60)  # past the retry's back-off: attempt 2 runs
    await env.wait_for_idle()
    before = await snapshot(env, "err-stale")

    reply = await http.post("/v1/activities/heartbeat", json={"token": token})

    assert reply.status_code == 409
    assert reply.json()["error"] == "stale_token"
    assert reply.json()["details"] == {"token_attempt": 1, "current_attempt": 2}
    assert await snapshot(env, "err-stale") == before


async def test_heartbeat_by_activity_token_with_no_attempt_open_is_409_naming_the_next_attempt(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "err-no-attempt")
    activity_token = await TOKENS.get(activity_token_key("err-no-attempt"))
    await http.post("/v1/activities/fail", json={"token": token, "error": "Transient"})
    before = await snapshot(env, "err-no-attempt")

    reply = await http.post("/v1/activities/heartbeat", json={"token": activity_token})

    assert reply.status_code == 409
    assert reply.json()["error"] == "no_attempt_open"
    assert reply.json()["details"] == {
        "execution_id": "err-no-attempt", "activity_id": 1, "state": "backoff", "next_attempt": 2
    }  # fmt: skip
    assert await snapshot(env, "err-no-attempt") == before


@pytest.mark.parametrize("path", ["complete", "heartbeat"])
async def test_a_token_of_another_activity_than_the_one_named_is_409_wrong_activity(
    env: TestEnvironment, http: httpx.AsyncClient, path: str
) -> None:
    token = await parked(env, charge, "i1", "err-wrong-activity")
    before = await snapshot(env, "err-wrong-activity")

    reply = await http.post(
        f"/v1/activities/{path}", json={"token": token, "result": APPROVAL, "activity": "orders.request_approval"}
        if path == "complete" else {"token": token, "activity": "orders.request_approval"}
    )  # fmt: skip

    assert reply.status_code == 409
    assert reply.json()["error"] == "wrong_activity"
    assert reply.json()["details"] == {
        "expected": "orders.request_approval", "actual": "billing.collect",
        "execution_id": "err-wrong-activity", "activity_id": 1,
    }  # fmt: skip
    assert await snapshot(env, "err-wrong-activity") == before


async def test_closing_a_closed_activity_otherwise_is_409_with_its_final_state(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    token = await parked(env, fulfil, "o1", "err-closed")
    first = await http.post("/v1/activities/complete", json={"token": token, "result": APPROVAL})
    again = await http.post("/v1/activities/complete", json={"token": token, "result": APPROVAL})
    before = await snapshot(env, "err-closed")

    other = await http.post("/v1/activities/complete", json={"token": token, "result": {"by": "bob", "amount": 1}})

    assert (first.json(), again.json()) == ({"recorded": True}, {"recorded": False})
    assert other.status_code == 409
    assert other.json()["error"] == "activity_already_closed"
    assert other.json()["details"]["final_state"] == "completed"
    assert await snapshot(env, "err-closed") == before


@pytest.mark.parametrize(
    ("result", "field"),
    [({"by": "ana", "amount": "lots"}, "amount"), ({"by": "ana"}, "amount"), ("yes", "result")],
)
async def test_result_of_the_wrong_type_is_422_naming_the_field(
    env: TestEnvironment, http: httpx.AsyncClient, result: Any, field: str
) -> None:
    token = await parked(env, fulfil, "o1", f"err-type-{field}-{type(result).__name__}")
    before = await snapshot(env, f"err-type-{field}-{type(result).__name__}")

    reply = await http.post("/v1/activities/complete", json={"token": token, "result": result})

    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_payload"
    assert any(field in error["loc"] for error in reply.json()["details"]["errors"])
    assert await snapshot(env, f"err-type-{field}-{type(result).__name__}") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"result": APPROVAL}, "token"),
        ({"token": "x.y", "result": APPROVAL, "extra": 1}, "extra"),
        ({"token": "x.y", "error": ""}, "error"),
    ],
    ids=["missing token", "unknown field", "empty error type"],
)
async def test_malformed_request_body_is_422_naming_the_field(
    env: TestEnvironment, http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    path = "/v1/activities/fail" if "error" in body else "/v1/activities/complete"

    reply = await http.post(path, json=body)

    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_payload"
    assert [field] in [error["loc"] for error in reply.json()["details"]["errors"]]


async def test_body_that_is_not_json_is_422(http: httpx.AsyncClient) -> None:
    reply = await http.post(
        "/v1/activities/complete", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_payload"


async def test_unknown_execution_is_404(http: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/workflows/nope"),
        ("GET", "/v1/histories/nope"),
        ("GET", "/v1/results/nope"),
        ("POST", "/v1/cancellations/nope"),
        ("GET", "/v1/published/progress/nope"),
    ]:
        reply = await http.request(method, path)
        assert reply.status_code == 404, path
        assert reply.json() == {
            "error": "execution_not_found",
            "message": "no workflow execution has id 'nope'",
            "details": {"execution_id": "nope"},
        }


async def test_unknown_workflow_name_is_404_and_starts_nothing(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    reply = await http.post("/v1/workflows", json={"workflow": "orders.nope", "id": "never"})

    assert reply.status_code == 404
    assert reply.json()["error"] == "unknown_workflow"
    assert await env.engine.list_workflows(status=None, workflow=None, limit=10, offset=0) == []


async def test_id_of_another_workflow_is_409(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o1", "err-taken")

    reply = await http.post("/v1/workflows", json={"workflow": "billing.charge", "args": ["i"], "id": "err-taken"})
    again = await http.post("/v1/workflows", json={"workflow": "orders.fulfil", "args": ["o1"], "id": "err-taken"})

    assert reply.status_code == 409
    assert reply.json()["details"] == {
        "execution_id": "err-taken",
        "workflow": "orders.fulfil",
        "requested": "billing.charge",
    }
    assert again.status_code == 200
    assert again.json()["started"] is False


async def test_execution_ids_with_slashes_and_spaces_round_trip(env: TestEnvironment) -> None:
    execution_id = "orders/2026 11/#42?x"
    await parked(env, fulfil, "o1", execution_id)

    description = await env.client.describe(execution_id)
    history = await env.client.history(execution_id)

    assert description.id == execution_id
    assert history[0].type == "WorkflowStarted"


async def test_result_long_poll_answers_running_after_its_wait(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, fulfil, "o1", "err-poll")

    reply = await http.get("/v1/results/err-poll", params={"wait": 0})

    assert reply.status_code == 200
    assert reply.json() == {
        "id": "err-poll",
        "workflow": "orders.fulfil",
        "status": "running",
        "result": None,
        "error": None,
    }


async def test_result_wait_over_the_limit_is_422(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/results/x", params={"wait": 3600})

    assert reply.status_code == 422
    assert reply.json()["details"]["errors"][0]["loc"] == ["wait"]


async def test_listing_pages_with_next_offset(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    for index in range(5):
        await env.engine.start_workflow(f"page-{index}", "orders.fulfil", '["o"]')
        env.clock.advance(1)

    first = (await http.get("/v1/workflows", params={"limit": 2})).json()
    last = (await http.get("/v1/workflows", params={"limit": 2, "offset": 4})).json()

    assert [item["id"] for item in first["items"]] == ["page-4", "page-3"]
    assert first["next_offset"] == 2
    assert [item["id"] for item in last["items"]] == ["page-0"]
    assert last["next_offset"] is None


async def test_unknown_route_is_404_with_an_error_body(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v2/everything")

    assert reply.status_code == 404
    assert reply.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/workflows/a%0Ab"),
        ("GET", "/v1/results/a%0Ab"),
        ("POST", "/v1/cancellations/a%0Ab"),
        ("DELETE", "/v1/workflows/a%0Ab"),
        ("GET", "/v1/published/progress/a%0Ab"),
    ],
)
async def test_an_execution_id_holding_a_line_break_reaches_its_route_and_names_no_execution(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    reply = await http.request(method, path)

    assert reply.status_code == 404
    assert reply.json()["error"] == "execution_not_found"
    assert reply.json()["details"] == {"execution_id": "a\nb"}


async def test_openapi_document_describes_every_route_and_the_bearer_scheme(http: httpx.AsyncClient) -> None:
    document = (await http.get("/v1/openapi.json")).json()

    assert set(document["paths"]) == {
        "/v1/workflows",
        "/v1/workflows/{execution_id}",
        "/v1/histories/{execution_id}",
        "/v1/results/{execution_id}",
        "/v1/cancellations/{execution_id}",
        "/v1/terminations/{execution_id}",
        "/v1/retries/{execution_id}",
        "/v1/resumptions/{execution_id}",
        "/v1/published/{name}/{execution_id}",
        "/v1/activities/complete",
        "/v1/activities/fail",
        "/v1/activities/heartbeat",
        "/v1/activities/cancelled",
        "/v1/activities/describe",
        "/v1/messages/{execution_id}",
        "/v1/requests/{execution_id}",
        "/v1/callbacks/complete/{token}",
        "/v1/callbacks/fail/{token}",
        "/v1/activities/waiting",
        "/v1/activities/overdue",
        "/v1/health",
        "/v1/schedules",
        "/v1/schedules/{schedule_id}",
        "/v1/schedules/pause/{schedule_id}",
        "/v1/schedules/unpause/{schedule_id}",
        "/v1/schedules/trigger/{schedule_id}",
    }
    complete = document["paths"]["/v1/activities/complete"]["post"]
    assert {"400", "401", "403", "409", "413", "422"} <= set(complete["responses"])
    assert document["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer"


# payload limits


_SMALL_APPS: dict[int, Any] = {}


def small_server_app(env: TestEnvironment) -> Any:
    """The app of the environment's small server."""
    return _SMALL_APPS[id(env)]


@pytest.fixture
async def small_server(env: TestEnvironment) -> Any:
    """A second server on the same engine with a 1 KiB body limit and a short body timeout.

    The timeout leaves room for a pause of the test process's event loop (a full garbage
    collection late in the suite): a streamed body must not run into it by accident.
    """
    app = service_app.create_app(
        env.engine, StoreKeys(env.engine, open_without_keys=True), max_body_bytes=1024, body_timeout=1.0
    )
    _SMALL_APPS[id(env)] = app
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    task = asyncio.ensure_future(server.serve_on(sock))
    try:
        yield f"http://127.0.0.1:{service_server.port_of(sock)}", service_server.port_of(sock)
    finally:
        server.stop()
        await task


async def test_declared_body_over_the_limit_is_413_before_parsing(env: TestEnvironment, small_server: Any) -> None:
    url, _ = small_server
    token = await parked(env, fulfil, "o1", "err-large")
    before = await snapshot(env, "err-large")
    async with httpx.AsyncClient(base_url=url) as http:
        reply = await http.post(
            "/v1/activities/complete", json={"token": token, "result": {"by": "a" * 2000, "amount": 1}}
        )

    assert reply.status_code == 413
    assert reply.json() == {
        "error": "payload_too_large",
        "message": "the request body exceeds the limit of 1024 bytes",
        "details": {"limit": 1024},
    }
    assert await snapshot(env, "err-large") == before


async def test_streamed_body_growing_over_the_limit_is_413(env: TestEnvironment, small_server: Any) -> None:
    url, _ = small_server

    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 200

    async with httpx.AsyncClient(base_url=url) as http:
        reply = await http.post(
            "/v1/activities/complete", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert reply.status_code == 413
    assert reply.json()["error"] == "payload_too_large"


async def test_body_that_never_finishes_arriving_is_408(small_server: Any) -> None:
    _, port = small_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v1/activities/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"token":'
    )
    await writer.drain()

    status_line = await asyncio.wait_for(reader.readline(), 10)  # the server answers once its timeout passes

    writer.close()
    assert status_line.startswith(b"HTTP/1.1 408")


async def test_unreachable_server_raises_server_unreachable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with await tether.Client.connect(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ServerUnreachable) as caught:
            await client.describe("x")

    assert caught.value.url == f"http://127.0.0.1:{port}"
    assert isinstance(caught.value, tether.errors.StoreUnavailable)


async def test_a_call_whose_connection_breaks_is_retried_and_succeeds_once(env: TestEnvironment) -> None:
    token = await parked(env, fulfil, "o1", "err-retry")
    assert env.server_url is not None
    upstream_port = int(env.server_url.rsplit(":", 1)[1])
    dropped = asyncio.Event()

    async def flaky_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not dropped.is_set():  # the first connection breaks before any answer
            dropped.set()
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    proxy = await asyncio.start_server(flaky_proxy, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    try:
        async with await tether.Client.connect(f"http://127.0.0.1:{port}") as client:
            await client.complete_activity(token, APPROVAL)
    finally:
        proxy.close()
        await proxy.wait_closed()

    assert dropped.is_set()
    history = await env.engine.history("err-retry")
    assert [e.type for e in history].count("ActivityCompleted") == 1


# what a careful client meets


async def test_callers_waiting_on_results_do_not_hold_back_other_calls(env: TestEnvironment) -> None:
    await parked(env, fulfil, "o1", "err-many-waits")
    assert env.server_url is not None
    async with await tether.Client.connect(env.server_url) as client:
        waits = [asyncio.ensure_future(client.get_handle("err-many-waits").result()) for _ in range(80)]
        await asyncio.sleep(0)  # the long polls are sent first

        described = await asyncio.wait_for(client.describe("err-many-waits"), 10)  # a hang guard, not a timing

        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    assert described.status == tether.WorkflowStatus.RUNNING


async def test_a_stopping_server_answers_waiting_result_requests_as_still_running(
    env: TestEnvironment, small_server: Any
) -> None:
    url, _ = small_server
    await parked(env, fulfil, "o1", "err-stopping")
    async with httpx.AsyncClient(base_url=url) as http:
        poll = asyncio.ensure_future(http.get("/v1/results/err-stopping", params={"wait": 60}))
        await env.engine.notifier.wait_for_result_waiters()  # the long poll has reached the engine

        service_state.stop_waiting(small_server_app(env))
        reply = await asyncio.wait_for(poll, 10)  # a hang guard, not a timing

    assert reply.status_code == 200
    assert reply.json()["status"] == "running"


async def test_a_long_poll_on_a_server_too_busy_to_read_in_time_still_waits(env: TestEnvironment) -> None:
    """A request without a body has nothing to time out: a late read is no reason to end the wait."""
    app = service_app.create_app(
        env.engine, StoreKeys(env.engine, open_without_keys=True), max_body_bytes=1024, body_timeout=0
    )
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    serving = asyncio.ensure_future(server.serve_on(sock))
    try:
        await parked(env, fulfil, "o1", "err-busy")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_server.port_of(sock)}") as http:
            poll = asyncio.ensure_future(http.get("/v1/results/err-busy", params={"wait": 60}))
            await env.engine.notifier.wait_for_result_waiters()
            assert not poll.done()

            service_state.stop_waiting(app)
            reply = await asyncio.wait_for(poll, 10)  # a hang guard, not a timing
    finally:
        server.stop()
        await serving

    assert reply.status_code == 200
    assert reply.json()["status"] == "running"


async def test_an_authorization_header_that_is_not_bearer_is_refused_even_without_keys(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/workflows", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert reply.status_code == 401
    assert "Bearer" in reply.json()["message"]


async def test_a_keyless_server_refuses_requests_addressed_to_other_host_names(http: httpx.AsyncClient) -> None:
    rebound = await http.get("/v1/workflows", headers={"Host": "evil.example"})
    local = await http.get("/v1/workflows", headers={"Host": "localhost:8080"})

    assert rebound.status_code == 401
    assert local.status_code == 200


@pytest.mark.parametrize(
    ("body", "loc"),
    [(b"{not json", []), (b"[" * 5000 + b"]" * 5000, [])],
    ids=["syntax error", "nested too deep"],
)
async def test_a_body_that_cannot_be_parsed_is_422_naming_the_body(
    http: httpx.AsyncClient, body: bytes, loc: list[str]
) -> None:
    reply = await http.post("/v1/workflows", content=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_payload"
    assert reply.json()["details"]["errors"][0]["loc"] == loc


async def test_an_api_key_read_with_its_newline_still_works(env: TestEnvironment) -> None:
    plain = await key(env, "*:*:*")
    assert env.server_url is not None

    async with await tether.Client.connect(env.server_url, api_key=plain + "\n") as client:
        assert await client.list_workflows() == []


async def test_an_api_key_a_header_cannot_carry_is_refused_without_showing_it() -> None:
    with pytest.raises(tether.errors.UsageError) as refused:
        await tether.Client.connect("http://127.0.0.1:9", api_key="tether_abc_se\ncret")

    assert "cret" not in str(refused.value)


async def test_a_malformed_server_url_is_a_usage_error() -> None:
    with pytest.raises(tether.errors.UsageError):
        await tether.Client.connect("http://[::1")


async def test_a_workflow_no_worker_registered_yet_starts_from_a_client_holding_its_code(tmp_path: Path) -> None:
    store_client = await tether.Client.connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    engine = store_client.engine
    app = service_app.create_app(engine, StoreKeys(engine, open_without_keys=True))
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    serving = asyncio.ensure_future(server.serve_on(sock))
    try:
        async with await tether.Client.connect(f"http://127.0.0.1:{service_server.port_of(sock)}") as client:
            handle = await client.start_workflow(charge, "i1", id="early-1")
            with pytest.raises(tether.errors.UnknownWorkflow):
                await client.start_workflow("billing.nobody_registered_this", id="early-2")
            assert (await handle.describe()).status == tether.WorkflowStatus.RUNNING
    finally:
        server.stop()
        await serving
        await store_client.close()


async def test_an_execution_id_taken_by_a_workflow_the_key_cannot_read_is_not_named(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, charge, "i1", "err-hidden")
    starter = await key(env, "workflows:start:orders.*")

    taken = await http.post(
        "/v1/workflows", json={"workflow": "orders.fulfil", "args": ["o"], "id": "err-hidden"}, headers=bearer(starter)
    )
    described = await http.get("/v1/workflows/err-hidden", headers=bearer(starter))

    assert taken.status_code == 409
    assert taken.json()["details"]["workflow"] == ""
    assert "billing" not in taken.text
    assert described.status_code == 403
    assert "billing" not in described.text


@pytest.mark.parametrize("sent", [b"", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"], ids=["nothing", "half the headers"])
async def test_a_connection_whose_headers_do_not_arrive_is_closed(env: TestEnvironment, sent: bytes) -> None:
    app = service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True))
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1, header_timeout=0.2)
    serving = asyncio.ensure_future(server.serve_on(sock))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", service_server.port_of(sock))
        writer.write(sent)
        await writer.drain()

        leftover = await asyncio.wait_for(reader.read(), 10)  # the server hangs up; a hang guard, not a timing

        writer.close()
        assert leftover == b""
    finally:
        server.stop()
        await serving


async def test_a_request_that_arrives_whole_is_served_on_a_guarded_connection(env: TestEnvironment) -> None:
    app = service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True))
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1, header_timeout=0.2)
    serving = asyncio.ensure_future(server.serve_on(sock))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_server.port_of(sock)}") as http:
            first = await http.get("/v1/health")
            second = await http.get("/v1/health")  # the same kept-alive connection
        assert (first.status_code, second.status_code) == (200, 200)
    finally:
        server.stop()
        await serving


async def answer_losing_proxy(upstream_port: int) -> tuple[asyncio.Server, list[int]]:
    """A loopback proxy whose first connection forwards the request, then drops the server's answer.

    The server has then done what was asked (its answer had begun) and the client never hears it.
    Returns the proxy and the list of connections it saw (one entry each).
    """
    seen: list[int] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(len(seen))
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)

        async def forward() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()

        forwarding = asyncio.ensure_future(forward())
        try:
            first = await up_reader.read(65536)
            if len(seen) == 1:
                writer.transport.abort()  # the answer is lost
                return
            writer.write(first)
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            forwarding.cancel()
            up_writer.close()
            writer.close()

    return await asyncio.start_server(proxy, "127.0.0.1", 0), seen


async def test_a_terminate_whose_answer_is_lost_is_not_sent_again(env: TestEnvironment) -> None:
    # Sent again, it would be refused as ExecutionClosed: the first one's own doing.
    await parked(env, fulfil, "o1", "err-lost-answer")
    assert env.server_url is not None
    proxy, seen = await answer_losing_proxy(int(env.server_url.rsplit(":", 1)[1]))
    port = proxy.sockets[0].getsockname()[1]
    try:
        async with await tether.Client.connect(f"http://127.0.0.1:{port}") as client:
            with pytest.raises(ServerUnreachable) as caught:
                await client.terminate("err-lost-answer", reason="lost answer")
            assert "may or may not have taken effect" in caught.value.message
            assert len(seen) == 1
            described = await client.describe("err-lost-answer")  # a call that may be repeated goes through
    finally:
        proxy.close()
        await proxy.wait_closed()
    assert described.status == "terminated"
    history = [e.type for e in await env.engine.history("err-lost-answer")]
    assert history.count("WorkflowTerminated") == 1
