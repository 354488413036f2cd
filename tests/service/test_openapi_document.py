"""The served OpenAPI document is what the server does: valid, named, tagged, and its error answers are the real ones.

The error statuses of each operation are checked both ways against a real loopback server:
every declared one is provoked and its body validated against the declared schema, and every
status the provocations get is declared.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pydantic
import pytest
from openapi_spec_validator import validate

import tether
from tests.service.conftest import bearer, charge, fulfil, key, parked
from tether.model import callback_tokens, error_bodies, tokens
from tether.model.callback_tokens import CallbackAction, CallbackClaims
from tether.service import app as service_app
from tether.service import errors as service_errors
from tether.service import server as service_server
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment

OPERATION_IDS = {
    ("post", "/v1/workflows"): "startWorkflow",
    ("get", "/v1/workflows"): "listWorkflows",
    ("get", "/v1/workflows/{execution_id}"): "describeWorkflow",
    ("get", "/v1/histories/{execution_id}"): "getHistory",
    ("get", "/v1/results/{execution_id}"): "getResult",
    ("post", "/v1/cancellations/{execution_id}"): "cancelWorkflow",
    ("post", "/v1/terminations/{execution_id}"): "terminateWorkflow",
    ("delete", "/v1/workflows/{execution_id}"): "deleteWorkflow",
    ("post", "/v1/retries/{execution_id}"): "retryActivityNow",
    ("post", "/v1/resumptions/{execution_id}"): "resumeWorkflow",
    ("get", "/v1/published/{name}/{execution_id}"): "getPublished",
    ("post", "/v1/activities/complete"): "completeActivity",
    ("post", "/v1/activities/fail"): "failActivity",
    ("post", "/v1/activities/heartbeat"): "heartbeatActivity",
    ("post", "/v1/activities/cancelled"): "reportActivityCancelled",
    ("post", "/v1/activities/describe"): "describeActivity",
    ("post", "/v1/messages/{execution_id}"): "sendMessage",
    ("post", "/v1/requests/{execution_id}"): "sendRequest",
    ("post", "/v1/callbacks/complete/{token}"): "completeByCallback",
    ("post", "/v1/callbacks/fail/{token}"): "failByCallback",
    ("get", "/v1/activities/waiting"): "listWaitingActivities",
    ("get", "/v1/activities/overdue"): "listOverdueActivities",
    ("get", "/v1/health"): "getHealth",
    ("post", "/v1/schedules"): "createSchedule",
    ("get", "/v1/schedules"): "listSchedules",
    ("get", "/v1/schedules/{schedule_id}"): "describeSchedule",
    ("delete", "/v1/schedules/{schedule_id}"): "deleteSchedule",
    ("post", "/v1/schedules/pause/{schedule_id}"): "pauseSchedule",
    ("post", "/v1/schedules/unpause/{schedule_id}"): "unpauseSchedule",
    ("post", "/v1/schedules/trigger/{schedule_id}"): "triggerSchedule",
}
"""Pinned: generated clients name their methods after these."""


async def served_document(http: httpx.AsyncClient) -> dict[str, Any]:
    reply = await http.get("/v1/openapi.json")
    assert reply.status_code == 200
    document: dict[str, Any] = reply.json()
    return document


def operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every operation of the document by its id: method, path and the operation itself."""
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


async def test_the_document_is_valid_openapi(http: httpx.AsyncClient) -> None:
    validate(await served_document(http))


COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
"""The committed copy of the document, from which clients in other languages are generated."""
REGENERATE = "Regenerate it with: .venv/bin/tether openapi --output docs/openapi.json"
TETHER = str(Path(sys.executable).parent / "tether")


async def test_the_committed_document_is_the_one_a_server_serves(http: httpx.AsyncClient) -> None:
    reply = await http.get("/v1/openapi.json")

    assert reply.headers["content-type"] == "application/json"
    same = reply.content == COMMITTED.read_bytes()
    assert same, f"docs/openapi.json is not the document the server serves. {REGENERATE}"


def test_tether_openapi_prints_the_committed_document_without_a_server_or_store(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TETHER_")}

    def run(*args: str) -> bytes:
        done = subprocess.run([TETHER, *args], capture_output=True, cwd=tmp_path, env=env, check=True, timeout=60)
        return done.stdout

    printed = run("openapi")
    run("openapi", "--output", "written.json")

    same = printed == COMMITTED.read_bytes()
    assert same, f"docs/openapi.json is not what `tether openapi` prints. {REGENERATE}"
    assert printed.endswith(b"}\n")
    assert json.dumps(json.loads(printed), indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n" == printed
    assert [path.name for path in tmp_path.iterdir()] == ["written.json"]  # no store was made
    assert (tmp_path / "written.json").read_bytes() == printed


async def test_every_operation_has_its_pinned_operation_id(http: httpx.AsyncClient) -> None:
    document = await served_document(http)

    found = {
        (method, path): op["operationId"] for path, item in document["paths"].items() for method, op in item.items()
    }

    assert found == OPERATION_IDS


async def test_every_operation_carries_one_declared_tag(http: httpx.AsyncClient) -> None:
    document = await served_document(http)
    declared = {tag["name"]: tag.get("description", "") for tag in document["tags"]}

    assert all(declared.values()), declared
    for name, (_, _, operation) in operations(document).items():
        assert len(operation["tags"]) == 1, name
        assert operation["tags"][0] in declared, name
    assert {op["tags"][0] for _, _, op in operations(document).values()} == set(declared)


async def test_health_and_callbacks_ask_for_no_key_and_every_other_operation_for_the_bearer_key(
    http: httpx.AsyncClient,
) -> None:
    document = await served_document(http)

    securities = {name: operation.get("security") for name, (_, _, operation) in operations(document).items()}

    assert securities.pop("getHealth") == []
    assert securities.pop("completeByCallback") == securities.pop("failByCallback") == []
    assert set(map(json.dumps, securities.values())) == {json.dumps([{"api_key": []}])}
    assert document["components"]["securitySchemes"]["api_key"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by `tether keys create`, sent as `Authorization: Bearer <key>`.",
    }


def declared_codes(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, str]:
    """The error codes an error response declares, each with the reference of its body's schema.

    A response of one code refers to its body; one of several is a ``oneOf`` of their bodies,
    discriminated on ``error`` by a mapping that names exactly those bodies.
    """
    components = document["components"]["schemas"]

    def code_of(ref: str) -> str:
        const: str = components[ref.rpartition("/")[2]]["properties"]["error"]["const"]
        return const

    if "$ref" in schema:
        return {code_of(schema["$ref"]): schema["$ref"]}
    refs = [option["$ref"] for option in schema["oneOf"]]
    assert set(schema) - {"title"} == {"oneOf", "discriminator"}, schema
    assert schema["discriminator"] == {"propertyName": "error", "mapping": {code_of(ref): ref for ref in refs}}
    return schema["discriminator"]["mapping"]  # type: ignore[no-any-return]  # checked just above


async def test_every_error_response_declares_the_bodies_of_its_codes_discriminated_on_error(
    http: httpx.AsyncClient,
) -> None:
    document = await served_document(http)
    classes = {cls.code: cls for cls in error_classes()}

    shapes = {
        (name, status): response["content"]["application/json"]["schema"]
        for name, (_, _, operation) in operations(document).items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }

    assert shapes
    for (name, status), shape in shapes.items():
        codes = declared_codes(document, shape)
        assert codes, name
        # Each code at the status the server's table gives it, and its body's schema a component of its own.
        assert {service_errors.status_of_class(classes[code]) for code in codes} == {int(status)}, (name, codes)
        assert all(ref == f"#/components/schemas/{classes[code].__name__}Body" for code, ref in codes.items())
    assert "ValidationError" not in json.dumps(document)


async def test_a_code_an_operation_does_not_declare_at_a_status_fails_its_check(http: httpx.AsyncClient) -> None:
    document = await served_document(http)
    conflicts = operations(document)["completeActivity"][2]["responses"]["409"]["content"]["application/json"]
    check = checks_error_body(document, conflicts["schema"])
    closed = {"final_state": "completed", "execution_id": "e", "activity_id": 1}

    check({"error": "activity_already_closed", "message": "closed", "details": closed})
    with pytest.raises(jsonschema.ValidationError):  # a code the route does not declare at 409
        check({"error": "execution_closed", "message": "closed", "details": {"execution_id": "e", "status": "failed"}})
    with pytest.raises(jsonschema.ValidationError):  # details of another shape than the code's
        check({"error": "activity_already_closed", "message": "closed", "details": {**closed, "state": "completed"}})


def error_classes() -> list[type[tether.errors.TetherError]]:
    """Every error class of tether.errors."""
    found: list[type[tether.errors.TetherError]] = []
    pending = [tether.errors.TetherError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def checks_error_body(document: dict[str, Any], schema: dict[str, Any]) -> Callable[[Any], None]:
    """Validate a JSON value against a schema of the document, its references resolved in the document."""
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    return validator.validate


def checks_model(model: Any) -> Callable[[Any], None]:
    """Validate a JSON value against the JSON schema of a pydantic model or type."""
    validator = jsonschema.Draft202012Validator(pydantic.TypeAdapter(model).json_schema())
    return validator.validate


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/workflows", "GET, POST"),
        ("PUT", "/v1/workflows", "GET, POST"),
        ("GET", "/v1/activities/complete", "POST"),
        ("POST", "/v1/workflows/some/id", "DELETE, GET"),
        ("DELETE", "/v1/cancellations/some-id", "POST"),
        ("POST", "/v1/health", "GET"),
    ],
)
async def test_a_method_a_path_does_not_serve_is_405_naming_every_method_it_does(
    http: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    reply = await http.request(method, path)

    assert reply.status_code == 405
    assert reply.headers["allow"] == allowed
    checks_model(error_bodies.BODIES["method_not_allowed"])(reply.json())
    assert reply.json()["details"] == {"allowed": allowed.split(", ")}


# Every declared error status, provoked


@dataclass
class Targets:
    """What the provocations aim at: an execution waiting on its activity, a closed one, and their tokens."""

    waiting: str
    waiting_token: str
    closed: str
    closed_token: str
    no_such_activity_token: str
    """Signed with the store's key, naming an activity the waiting execution does not have."""
    other_workflow: str
    """An execution of another workflow, whose id a start of orders.fulfil cannot take."""
    running: str
    """An execution that no call closes (a cancellation of the waiting one may): a delete of it is refused."""
    keys: dict[str, str] = field(default_factory=dict)
    callbacks: dict[str, str] = field(default_factory=dict)
    """Callback tokens by action ("complete", "fail": of two executions of their own) and by action and kind
    ("complete-closed", "fail-nothing", "fail-expired", ...)."""


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    key: str | None = "admin"
    content: bytes | None = None


def call_of(name: str, t: Targets) -> Call:
    """A valid call of an operation on the targets."""

    def by_token(path: str, **fields: Any) -> Call:
        return Call("POST", f"/v1/activities/{path}", {"token": t.waiting_token, **fields})

    return {
        "startWorkflow": Call("POST", "/v1/workflows", {"workflow": "orders.fulfil", "args": ["o"], "id": "new-1"}),
        "listWorkflows": Call("GET", "/v1/workflows"),
        "describeWorkflow": Call("GET", f"/v1/workflows/{t.waiting}"),
        "getHistory": Call("GET", f"/v1/histories/{t.waiting}"),
        "getResult": Call("GET", f"/v1/results/{t.waiting}", query={"wait": "0"}),
        "cancelWorkflow": Call("POST", f"/v1/cancellations/{t.waiting}"),
        "terminateWorkflow": Call("POST", f"/v1/terminations/{t.waiting}", {"reason": "stuck"}),
        # Refused (the execution runs) whichever way it is provoked: nothing a later call names goes.
        "deleteWorkflow": Call("DELETE", f"/v1/workflows/{t.running}"),
        "retryActivityNow": Call("POST", f"/v1/retries/{t.waiting}", {"activity_id": 1}),
        "resumeWorkflow": Call("POST", f"/v1/resumptions/{t.waiting}", {"timeout": None}),
        # Nothing is published by the targets: the call is answered 404 not_published, as declared.
        "getPublished": Call("GET", f"/v1/published/progress/{t.waiting}", query={"wait": "0"}),
        "completeActivity": by_token("complete", result={"by": "bob", "amount": 2}),
        "failActivity": by_token("fail", error="Declined"),
        "heartbeatActivity": by_token("heartbeat", details={"page": 1}),
        "reportActivityCancelled": by_token("cancelled"),
        "describeActivity": by_token("describe"),
        "completeByCallback": Call(
            "POST", f"/v1/callbacks/complete/{t.callbacks['complete']}", {"by": "c", "amount": 1}
        ),
        "failByCallback": Call("POST", f"/v1/callbacks/fail/{t.callbacks['fail']}", {"error": "Declined"}),
        "listWaitingActivities": Call("GET", "/v1/activities/waiting", query={"workflow": "orders.fulfil"}),
        "listOverdueActivities": Call("GET", "/v1/activities/overdue", query={"due_within_ms": "3600000"}),
        "getHealth": Call("GET", "/v1/health"),
        "sendMessage": Call("POST", f"/v1/messages/{t.waiting}", {"name": "note", "payload": {"x": 1}}),
        "sendRequest": Call("POST", f"/v1/requests/{t.waiting}", {"name": "ask", "payload": 1, "wait": 0}),
        # Schedules named after the targets: "waiting-1" of orders.fulfil, "billing-1" (taken) of billing.charge.
        "createSchedule": Call(
            "POST", "/v1/schedules", {"id": "new-1", "workflow": "orders.fulfil", "cron": "0 9 * * *"}
        ),
        "listSchedules": Call("GET", "/v1/schedules"),
        "describeSchedule": Call("GET", f"/v1/schedules/{t.waiting}"),
        "deleteSchedule": Call("DELETE", f"/v1/schedules/{t.waiting}"),
        "pauseSchedule": Call("POST", f"/v1/schedules/pause/{t.waiting}"),
        "unpauseSchedule": Call("POST", f"/v1/schedules/unpause/{t.waiting}"),
        "triggerSchedule": Call("POST", f"/v1/schedules/trigger/{t.waiting}"),
    }[name]


def _is_callback(call: Call) -> bool:
    return call.path.startswith("/v1/callbacks/")


def _with_callback(call: Call, t: Targets, kind: str) -> Call | None:
    """A callback call with the URL of another kind (closed, nothing, expired); None for other calls."""
    if not _is_callback(call):
        return None
    action = call.path.split("/")[3]
    return replace(call, path=f"/v1/callbacks/{action}/{t.callbacks[f'{action}-{kind}']}")


def _with_token(call: Call, token: str) -> Call | None:
    if _is_callback(call):
        return replace(call, path=f"{call.path.rpartition('/')[0]}/{token}")
    return None if call.body is None or "token" not in call.body else replace(call, body={**call.body, "token": token})


def _naming_nothing(call: Call, t: Targets) -> Call | None:
    if _is_callback(call):
        return _with_callback(call, t, "nothing")
    if call.body is not None and "workflow" in call.body:
        return replace(call, body={**call.body, "workflow": "no.such.workflow"})
    for named in (t.waiting, t.running):
        if named in call.path:
            return replace(call, path=call.path.replace(named, "nothing-here"))
    return _with_token(call, t.no_such_activity_token)


def _conflicting(call: Call, t: Targets) -> Call | None:
    if _is_callback(call):
        return _with_callback(call, t, "closed")
    if call.method == "DELETE":
        return call  # what a delete conflicts with is a running execution
    if call.body is not None and "workflow" in call.body:
        return replace(call, body={**call.body, "id": t.other_workflow})
    if t.waiting in call.path:
        return replace(call, path=call.path.replace(t.waiting, t.closed))
    return _with_token(call, t.closed_token)


def _malformed(call: Call, t: Targets) -> Call:
    if _is_callback(call):  # a complete URL takes any JSON as its result: only what is not JSON is malformed
        return replace(call, body=None, content=b"{not json")
    if call.body is not None:
        return replace(call, body={})
    return replace(call, query={"limit": "0", "offset": "-1", "wait": "-1", "run": "0"})


PROVOCATIONS: dict[str, Callable[[Call, Targets], Call | None]] = {
    "without a key": lambda c, t: replace(c, key=None),
    "with a key for other workflows": lambda c, t: replace(c, key="billing"),
    "naming nothing": _naming_nothing,
    "malformed": _malformed,
    "with a forged token": lambda c, t: _with_token(c, "forged.token"),
    "on something closed or taken": _conflicting,
    "with a body over the limit": lambda c, t: replace(c, body=None, content=b"x" * (LIMIT + 1)),
    "with an expired callback URL": lambda c, t: _with_callback(c, t, "expired"),
}
"""Ways to get a call refused, each applied to every operation it can apply to."""

LIMIT = 1024
BODY_TIMEOUT = 1.0


@asynccontextmanager
async def serving(engine: Any) -> AsyncIterator[int]:
    """A real server on a loopback port over ``engine``, with a small body limit and a short body timeout."""
    app = service_app.create_app(
        engine, StoreKeys(engine, open_without_keys=True), max_body_bytes=LIMIT, body_timeout=BODY_TIMEOUT
    )
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    task = asyncio.ensure_future(server.serve_on(sock))
    try:
        yield service_server.port_of(sock)
    finally:
        server.stop()
        await task


async def send(http: httpx.AsyncClient, call: Call, keys: dict[str, str]) -> httpx.Response:
    headers = bearer(keys[call.key]) if call.key is not None else {}
    content = call.content if call.content is not None else None if call.body is None else json.dumps(call.body)
    if content is not None:
        headers["Content-Type"] = "application/json"
    return await http.request(call.method, call.path, params=call.query, content=content, headers=headers)


async def send_too_slowly(port: int, call: Call, keys: dict[str, str]) -> tuple[int, Any]:
    """Send a call whose body never finishes arriving; the status and body it gets."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"{call.method} {call.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: 100\r\nAuthorization: Bearer {keys['admin']}\r\n\r\n"
    )
    writer.write(head.encode() + b'{"token":')
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), 10)  # a hang guard, not a timing
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            length = int(value) if name.strip().lower() == "content-length" else length
        body = json.loads(await reader.readexactly(length)) if length else None
    finally:
        writer.close()
    return int(status_line.split()[1]), body


async def targets_in(env: TestEnvironment) -> Targets:
    waiting_token = await parked(env, fulfil, "o1", "waiting-1")
    closed_token = await parked(env, fulfil, "o2", "closed-1")
    await env.engine.complete_activity(closed_token, json.dumps({"by": "ana", "amount": 1}))
    await parked(env, charge, "i1", "billing-1")
    await parked(env, fulfil, "o3", "running-1")
    signing = await env.engine.store.read(lambda tx: tx.signing_keys())
    key_id = max(signing)
    no_such = tokens.sign(tokens.TokenClaims("waiting-1", 99, 1), key_id, signing[key_id])
    keys = {"admin": await key(env, "*:*:*", name="admin"), "billing": await key(env, "*:*:billing.*", name="billing")}
    await parked(env, fulfil, "o4", "callback-1")
    await parked(env, fulfil, "o5", "callback-2")
    callbacks: dict[str, str] = {}
    pairs: tuple[tuple[CallbackAction, str], ...] = (("complete", "callback-1"), ("fail", "callback-2"))
    for action, execution_id in pairs:
        for kind, claims in {
            "": CallbackClaims(execution_id, 1, 1, action, None),
            "-closed": CallbackClaims("closed-1", 1, 1, action, None),
            "-nothing": CallbackClaims("waiting-1", 99, 1, action, None),
            "-expired": CallbackClaims("waiting-1", 1, 1, action, env.clock.now_ms()),
        }.items():
            callbacks[f"{action}{kind}"] = callback_tokens.sign(claims, key_id, signing[key_id])
    await env.engine.create_schedule(
        "waiting-1", "orders.fulfil", "[]", cron="0 9 * * *", timezone="UTC", overlap="skip", catch_up="one"
    )
    await env.engine.create_schedule(
        "billing-1", "billing.charge", "[]", cron="0 9 * * *", timezone="UTC", overlap="skip", catch_up="one"
    )
    await env.wait_for_idle()
    return Targets(
        "waiting-1", waiting_token, "closed-1", closed_token, no_such, "billing-1", "running-1", keys, callbacks
    )


async def test_every_declared_error_status_is_sent_as_declared_and_every_one_sent_is_declared(
    env: TestEnvironment, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    document = await served_document(http)
    t = await targets_in(env)
    declared = {
        name: {int(status) for status in operation["responses"] if int(status) >= 400}
        for name, (_, _, operation) in operations(document).items()
    }
    sent: dict[str, dict[int, list[str]]] = {name: {} for name in declared}
    bodies: list[tuple[str, int, str, Any]] = []

    def saw(name: str, status: int, how: str, body: Any) -> None:
        if status >= 400:
            sent[name].setdefault(status, []).append(how)
            bodies.append((name, status, how, body))

    async with serving(env.engine) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as small:
        for how, provoke in PROVOCATIONS.items():
            for name in declared:
                call = provoke(call_of(name, t), t)
                if call is not None:
                    reply = await send(small, call, t.keys)
                    saw(name, reply.status_code, how, reply.json() if reply.content else None)  # 204: a delete
        # Last, as a call that reads no body (a cancellation) is carried out all the same.
        slow = await asyncio.gather(*(send_too_slowly(port, call_of(name, t), t.keys) for name in declared))
        for name, (status, body) in zip(declared, slow, strict=True):
            saw(name, status, "with a body that never finishes arriving", body)

    down = await tether.Client.connect(f"sqlite:///{tmp_path / 'down.db'}")
    await down.close()  # every call on this store now fails: the store is unavailable
    async with serving(down.engine) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as broken:
        for name in declared:
            reply = await send(broken, call_of(name, t), t.keys)
            saw(name, reply.status_code, "on a store that is down", reply.json())

    codes: dict[str, list[dict[str, Any]]] = {}
    for name, status, how, body in bodies:
        responses = operations(document)[name][2]["responses"]
        if str(status) in responses:  # an undeclared status fails below, with what provoked it
            schema = responses[str(status)]["content"]["application/json"]["schema"]
            try:
                checks_error_body(document, schema)(body)  # the union: a code not declared at the status fails
                ref = declared_codes(document, schema)[body["error"]]
                checks_error_body(document, {"$ref": ref})(body)  # the code's own body
                checks_model(error_bodies.BODIES[body["error"]])(body)
            except jsonschema.ValidationError as exc:
                raise AssertionError(f"{name} {how}: {status} {body} is not as declared: {exc.message}") from exc
            codes.setdefault(body["error"], []).append(body["details"])
    assert {name: set(found) for name, found in sent.items()} == declared, sent
    for code, check in DETAILS_CHECKS.items():
        assert code in codes, f"no provocation got {code}"
        for details in codes[code]:
            assert check(details), (code, details)


DETAILS_CHECKS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "activity_already_closed": lambda d: d["final_state"] == "completed" and d["execution_id"] == "closed-1",
    "execution_closed": lambda d: d == {"execution_id": "closed-1", "status": "completed"},
    "execution_not_closed": lambda d: d == {"execution_id": "running-1"},
    "execution_not_found": lambda d: d["execution_id"] in ("nothing-here", "waiting-1"),
    "execution_id_taken": lambda d: d["execution_id"] == "billing-1" and d["workflow"] == "billing.charge",
    "permission_denied": lambda d: d["workflow"] in ("orders.fulfil", "") and bool(d["action"]),
    "payload_too_large": lambda d: d == {"limit": LIMIT},
    "unknown_workflow": lambda d: d == {"name": "no.such.workflow"},
    "callback_expired": lambda d: bool(d["expired_at"]),
    "invalid_payload": lambda d: bool(d["errors"]) and all(set(p) == {"loc", "msg", "type"} for p in d["errors"]),
    "invalid_token": lambda d: d == {},
    "unauthenticated": lambda d: d == {},
    "request_timeout": lambda d: d == {},
    "store_unavailable": lambda d: d == {},
    "schedule_not_found": lambda d: d["schedule_id"] in ("nothing-here", "waiting-1", "closed-1"),
    "schedule_already_exists": lambda d: d == {"schedule_id": "billing-1"},
}
"""What the details of each code the provocations get say about the targets."""
