"""Schedules over HTTP: what each route answers, refusals that change nothing, and keys scoped to workflows."""

from __future__ import annotations

from typing import Any

import httpx

from tests.service.conftest import bearer, key
from tether.testing import TestEnvironment

NIGHTLY = {
    "id": "nightly",
    "workflow": "orders.fulfil",
    "args": ["o-9"],
    "cron": "0 2 * * *",
    "timezone": "Europe/Berlin",
}


async def state(http: httpx.AsyncClient, headers: dict[str, str]) -> tuple[Any, Any]:
    """Every schedule and every execution, as an admin sees them."""
    schedules = (await http.get("/v1/schedules", headers=headers)).json()
    executions = (await http.get("/v1/workflows", headers=headers)).json()
    return schedules, executions


async def test_a_schedule_is_made_described_paused_triggered_and_deleted_over_http(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    made = await http.post("/v1/schedules", json=NIGHTLY)
    assert made.status_code == 201
    assert made.json()["next_fire_at"] == "2026-01-01T01:00:00Z"  # 02:00 in Berlin
    assert made.json()["overlap"] == "skip"
    assert made.json()["catch_up"] == "one"
    listed = (await http.get("/v1/schedules", params={"workflow": "orders.fulfil"})).json()["items"]
    assert [s["schedule_id"] for s in listed] == ["nightly"]
    assert (await http.get("/v1/schedules", params={"workflow": "billing.charge"})).json()["items"] == []

    assert (await http.post("/v1/schedules/pause/nightly")).json()["paused"] is True
    triggered = await http.post("/v1/schedules/trigger/nightly")
    assert triggered.json() == {"execution_id": "nightly-2026-01-01T00:00:00.000Z"}
    described = (await http.get("/v1/schedules/nightly")).json()
    assert described["paused"] is True
    assert described["last_execution_id"] == "nightly-2026-01-01T00:00:00.000Z"
    assert [(f["outcome"], f["manual"]) for f in described["recent"]] == [("started", True)]
    assert (await http.post("/v1/schedules/unpause/nightly")).json()["paused"] is False

    assert (await http.delete("/v1/schedules/nightly")).status_code == 204
    gone = await http.get("/v1/schedules/nightly")
    assert gone.status_code == 404
    assert gone.json() == {
        "error": "schedule_not_found", "message": "no schedule has id 'nightly'", "details": {"schedule_id": "nightly"}
    }  # fmt: skip
    # The execution it started stays.
    assert (await http.get("/v1/workflows/nightly-2026-01-01T00:00:00.000Z")).status_code == 200


async def test_refused_schedule_calls_change_nothing(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/schedules", json=NIGHTLY)).status_code == 201
    before = await state(http, {})

    again = await http.post("/v1/schedules", json={**NIGHTLY, "cron": "* * * * *"})
    assert (again.status_code, again.json()["error"]) == (409, "schedule_already_exists")
    assert again.json()["details"] == {"schedule_id": "nightly"}
    for bad, field in [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 9 * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"overlap": "queue"}, "overlap"),
        ({"catch_up": "some"}, "catch_up"),
        ({"id": "a/b"}, "id"),
    ]:
        refused = await http.post("/v1/schedules", json={**NIGHTLY, "id": "other", **bad})
        assert refused.status_code == 422, bad
        assert refused.json()["error"] == "invalid_payload"
        assert refused.json()["details"]["errors"][0]["loc"][-1] == field, refused.json()
    unknown = await http.post("/v1/schedules", json={**NIGHTLY, "id": "other", "workflow": "no.such"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_workflow")
    for method, path in [
        ("GET", "/v1/schedules/missing"),
        ("POST", "/v1/schedules/pause/missing"),
        ("POST", "/v1/schedules/unpause/missing"),
        ("POST", "/v1/schedules/trigger/missing"),
        ("DELETE", "/v1/schedules/missing"),
    ]:
        missing = await http.request(method, path)
        assert (missing.status_code, missing.json()["error"]) == (404, "schedule_not_found"), path

    assert await state(http, {}) == before


async def test_a_key_scoped_to_one_workflow_manages_only_its_schedules(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    admin = bearer(await key(env, "*:*:*", name="admin"))
    billing = bearer(await key(env, "workflows:*:billing.*", name="billing"))
    assert (await http.post("/v1/schedules", json=NIGHTLY, headers=admin)).status_code == 201
    invoices = {**NIGHTLY, "id": "invoices", "workflow": "billing.charge"}
    assert (await http.post("/v1/schedules", json=invoices, headers=billing)).status_code == 201
    before = await state(http, admin)

    listed = (await http.get("/v1/schedules", headers=billing)).json()["items"]
    assert [s["schedule_id"] for s in listed] == ["invoices"]
    refused = await http.post("/v1/schedules", json={**NIGHTLY, "id": "mine"}, headers=billing)
    assert (refused.status_code, refused.json()["error"]) == (403, "permission_denied")
    for method, path in [
        ("GET", "/v1/schedules/nightly"),
        ("POST", "/v1/schedules/pause/nightly"),
        ("POST", "/v1/schedules/trigger/nightly"),
        ("DELETE", "/v1/schedules/nightly"),
    ]:
        denied = await http.request(method, path, headers=billing)
        assert (denied.status_code, denied.json()["error"]) == (403, "permission_denied"), path
        assert "orders.fulfil" not in denied.text  # a workflow it may not read is not named
    assert await state(http, admin) == before

    assert (await http.post("/v1/schedules/pause/invoices", headers=billing)).json()["paused"] is True
