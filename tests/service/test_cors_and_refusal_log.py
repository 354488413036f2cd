"""Browsers on allowed origins call the API with a key; each refused request is logged once, key named, not shown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.helpers import loopback
from tests.service.conftest import bearer, fulfil, key, parked, snapshot
from tether.errors import UsageError
from tether.service import app as service_app
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment

APP_ORIGIN = "https://app.example.com"
APPROVAL = {"by": "ann", "amount": 3}


@asynccontextmanager
async def served_with(env: TestEnvironment, origins: Sequence[str]) -> AsyncIterator[httpx.AsyncClient]:
    """A real loopback server over ``env``'s store, answering the given origins."""
    app = service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True), cors_origins=origins)
    async with loopback.served(app) as http:
        yield http


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_a_browser_on_an_allowed_origin_completes_an_activity_with_a_key(env: TestEnvironment) -> None:
    token = await parked(env, fulfil, "o1", "cors-1")
    writer = await key(env, "activities:write:orders.*")  # from now on, keys are required
    async with served_with(env, [APP_ORIGIN]) as http:
        answer = await http.options("/v1/activities/complete", headers=preflight(APP_ORIGIN))
        assert answer.status_code == 200  # answered without a key: browsers send none in a preflight
        assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
        assert {"authorization", "content-type"} <= set(answer.headers["access-control-allow-headers"].split(", "))
        assert "POST" in answer.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in answer.headers

        refused = await http.post(
            "/v1/activities/complete", json={"token": token, "result": APPROVAL}, headers={"Origin": APP_ORIGIN}
        )
        assert refused.status_code == 401  # the preflight opened nothing: the call itself needs the key
        assert refused.headers["access-control-allow-origin"] == APP_ORIGIN  # ... and the page may read why

        done = await http.post(
            "/v1/activities/complete",
            json={"token": token, "result": APPROVAL},
            headers={"Origin": APP_ORIGIN, **bearer(writer)},
        )
        assert done.status_code == 200
        assert done.headers["access-control-allow-origin"] == APP_ORIGIN
    assert (await env.engine.wait_for_close("cors-1")).status == "completed"


async def test_other_origins_get_no_cross_origin_answer_and_change_nothing(env: TestEnvironment) -> None:
    token = await parked(env, fulfil, "o1", "cors-2")
    writer = await key(env, "activities:write:orders.*")
    before = await snapshot(env, "cors-2")
    async with served_with(env, [APP_ORIGIN]) as http:
        answer = await http.options("/v1/activities/complete", headers=preflight("https://evil.example.net"))
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers
    async with served_with(env, []) as http:  # the default: no origin at all
        answer = await http.options("/v1/activities/complete", headers=preflight(APP_ORIGIN))
        assert "access-control-allow-origin" not in answer.headers
        done = await http.get("/v1/workflows/cors-2", headers={"Origin": APP_ORIGIN, **bearer(writer)})
        assert "access-control-allow-origin" not in done.headers
    assert token
    assert await snapshot(env, "cors-2") == before


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        ("*", "*"),
        ("https://App.example.com:8443", "https://app.example.com:8443"),
        ("http://[::1]:3000/", "http://[::1]:3000"),
    ],
)
def test_origins_are_read_as_browsers_send_them(given: str, taken: str) -> None:
    from tether.service import cors

    assert cors.origin(given) == taken


@pytest.mark.parametrize(
    "given",
    ["app.example.com", "https://app.example.com/path", "ftp://app.example.com", "https://u:p@h", "https://h:99999"],
)
async def test_a_value_that_is_not_an_origin_is_refused_before_serving(env: TestEnvironment, given: str) -> None:
    with pytest.raises(UsageError, match="not an origin"):
        service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True), cors_origins=[given])


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tether.service.refusals"]


async def test_every_refused_request_is_logged_once_with_the_keys_name_never_the_key(
    env: TestEnvironment, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tether.service.refusals")
    token = await parked(env, fulfil, "o1", "logged-1")
    billing = await key(env, "activities:write:billing.*", name="billing-consumer")
    orders = await key(env, "activities:write:orders.*", "workflows:read", name="orders-consumer")
    billing_id = billing.split("_")[1]
    orders_id = orders.split("_")[1]
    cases: list[tuple[str, dict[str, object], dict[str, str], int, str, str]] = [
        ("/v1/activities/complete", {"token": token, "result": APPROVAL}, {}, 401, "unauthenticated", "none presented"),
        (
            "/v1/activities/complete",
            {"token": token, "result": APPROVAL},
            bearer(f"tether_{billing_id}_wrongsecret"),
            401,
            "unauthenticated",
            f"not accepted (id {billing_id})",
        ),
        (
            "/v1/activities/complete",
            {"token": token, "result": APPROVAL},
            bearer(billing),
            403,
            "permission_denied",
            f"'billing-consumer' ({billing_id})",
        ),
        (
            "/v1/activities/complete",
            {"token": token, "result": {"by": "ann"}},
            bearer(orders),
            422,
            "invalid_payload",
            f"'orders-consumer' ({orders_id})",
        ),
    ]
    seen: list[str] = []
    for path, body, headers, status, code, named in cases:
        seen += [r.getMessage() for r in caplog.records]
        caplog.clear()
        reply = await http.post(path, json=body, headers=headers)
        assert (reply.status_code, reply.json()["error"]) == (status, code)
        [record] = refusals(caplog)
        assert record.levelno == logging.WARNING
        assert record.getMessage() == f"refused POST {path}: {status} {code} (key {named})"

    accepted = await http.post(
        "/v1/activities/complete", json={"token": token, "result": APPROVAL}, headers=bearer(orders)
    )
    assert accepted.status_code == 200
    seen += [r.getMessage() for r in caplog.records]
    caplog.clear()
    again = await http.post(
        "/v1/activities/complete", json={"token": token, "result": {"by": "bob", "amount": 1}}, headers=bearer(orders)
    )
    assert (again.status_code, again.json()["error"]) == (409, "activity_already_closed")
    [record] = refusals(caplog)
    assert (
        record.getMessage()
        == f"refused POST /v1/activities/complete: 409 activity_already_closed (key 'orders-consumer' ({orders_id}))"
    )

    seen += [r.getMessage() for r in caplog.records]
    caplog.clear()
    missing = await http.get("/v1/workflows/no-such-execution", headers=bearer(orders))
    assert missing.status_code == 404
    [record] = refusals(caplog)
    assert record.getMessage().startswith("refused GET /v1/workflows/{execution_id}: 404 execution_not_found")

    seen += [r.getMessage() for r in caplog.records]
    caplog.clear()
    read = await http.get("/v1/workflows/logged-1", headers=bearer(orders))
    assert read.status_code == 200
    assert refusals(caplog) == []
    secrets = [orders.split("_", 2)[2], billing.split("_", 2)[2], "wrongsecret"]
    seen += [r.getMessage() for r in caplog.records]
    assert len(seen) >= 6
    assert not any(s in message for message in seen for s in secrets)
