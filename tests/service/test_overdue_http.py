"""GET /v1/activities/overdue: what a key may read is listed, by the server's clock, a page at a time."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.service.conftest import bearer, charge, fulfil, key, parked
from tether.testing import TestEnvironment

DAY_MS = 86_400_000


async def overdue(http: httpx.AsyncClient, api_key: str | None = None, **query: str) -> list[str]:
    """The executions listed as overdue for ``api_key`` (none: the open loopback server)."""
    reply = await http.get("/v1/activities/overdue", params=query, headers=bearer(api_key) if api_key else {})
    assert reply.status_code == 200, reply.text
    return [item["execution_id"] for item in reply.json()["items"]]


@pytest.fixture
async def two_teams(env: TestEnvironment) -> None:
    """One order and one invoice waiting for a token for two days, the order first."""
    await parked(env, fulfil, "o1", "order-1")
    env.clock.advance(1)
    await parked(env, charge, "i1", "invoice-1")
    env.clock.advance(timedelta(days=2))


@pytest.mark.usefixtures("two_teams")
@pytest.mark.parametrize(
    ("scopes", "listed"),
    [
        (["*:*:*"], ["order-1", "invoice-1"]),
        (["workflows:read:*"], ["order-1", "invoice-1"]),
        (["activities:write:orders.*"], ["order-1"]),
        (["workflows:read:billing.*"], ["invoice-1"]),
        (["workflows:start:*", "workflows:write:*"], []),
    ],
    ids=["everything", "read", "write orders", "read billing", "neither"],
)
async def test_a_key_lists_the_overdue_activities_of_the_workflows_it_may_read_or_write(
    env: TestEnvironment, http: httpx.AsyncClient, scopes: list[str], listed: list[str]
) -> None:
    api_key = await key(env, *scopes)

    assert await overdue(http, api_key, waiting_longer_than_ms=str(DAY_MS)) == listed


@pytest.mark.usefixtures("two_teams")
async def test_the_waiting_age_is_the_servers_clock_and_each_item_says_why(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    admin = await key(env, "*:*:*")
    three_days = await overdue(http, admin, waiting_longer_than_ms=str(3 * DAY_MS))
    without = await overdue(http, admin)  # no default given: only an activity's own overdue_after counts
    reply = await http.get(
        "/v1/activities/overdue", params={"waiting_longer_than_ms": DAY_MS, "workflow": "orders.fulfil"},
        headers=bearer(admin),
    )  # fmt: skip
    (item,) = reply.json()["items"]

    assert three_days == []
    assert without == []
    assert (item["execution_id"], item["name"], item["reasons"]) == ("order-1", "orders.request_approval", ["waiting"])
    assert (item["waited_ms"], item["overdue_after_ms"], item["own_overdue_after"]) == (
        2 * DAY_MS + 1000,
        DAY_MS,
        False,
    )


@pytest.mark.usefixtures("two_teams")
async def test_pages_say_where_the_next_one_starts_and_bad_durations_are_refused(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    admin = await key(env, "*:*:*")
    first = await http.get("/v1/activities/overdue", params={"waiting_longer_than_ms": DAY_MS, "limit": 1},
                           headers=bearer(admin))  # fmt: skip
    last = await http.get(
        "/v1/activities/overdue", params={"waiting_longer_than_ms": DAY_MS, "limit": 1, "offset": 1},
        headers=bearer(admin),
    )  # fmt: skip
    refused = await http.get("/v1/activities/overdue", params={"due_within_ms": 0}, headers=bearer(admin))

    assert ([i["execution_id"] for i in first.json()["items"]], first.json()["next_offset"]) == (["order-1"], 1)
    assert ([i["execution_id"] for i in last.json()["items"]], last.json()["next_offset"]) == (["invoice-1"], None)
    assert refused.status_code == 422
