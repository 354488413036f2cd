"""GET /v1/activities/waiting: what a key may read is listed, and activity tokens only come with activities:write."""

from __future__ import annotations

import httpx
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tests.service.conftest import activity_token_key, bearer, charge, fulfil, key, parked
from tether.testing import TestEnvironment


async def waiting(http: httpx.AsyncClient, api_key: str, **query: str) -> list[tuple[str, bool]]:
    """The executions listed for ``api_key``, and whether each came with its activity token."""
    reply = await http.get("/v1/activities/waiting", params=query, headers=bearer(api_key))
    assert reply.status_code == 200, reply.text
    assert reply.json()["next_offset"] is None
    return [(item["execution_id"], item["activity_token"] is not None) for item in reply.json()["items"]]


@pytest.fixture
async def two_teams(env: TestEnvironment) -> None:
    """One order and one invoice waiting for a token, the order first."""
    await parked(env, fulfil, "o1", "order-1")
    env.clock.advance(1)
    await parked(env, charge, "i1", "invoice-1")


@pytest.mark.usefixtures("two_teams")
@pytest.mark.parametrize(
    ("scopes", "listed"),
    [
        (["*:*:*"], [("order-1", True), ("invoice-1", True)]),
        (["workflows:read:*"], [("order-1", False), ("invoice-1", False)]),
        (["workflows:read:*", "activities:write:orders.*"], [("order-1", True), ("invoice-1", False)]),
        (["activities:write:orders.*"], [("order-1", True)]),
        (["workflows:read:billing.*"], [("invoice-1", False)]),
        (["workflows:start:*", "workflows:write:*"], []),
    ],
    ids=["everything", "read", "read all, write orders", "write orders", "read billing", "neither"],
)
async def test_a_key_lists_what_it_may_read_or_write_with_tokens_only_where_it_may_write(
    env: TestEnvironment, http: httpx.AsyncClient, scopes: list[str], listed: list[tuple[str, bool]]
) -> None:
    api_key = await key(env, *scopes)

    assert await waiting(http, api_key) == listed


@pytest.mark.usefixtures("two_teams")
async def test_the_listed_token_is_the_activity_token_and_the_filters_apply(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    admin = await key(env, "*:*:*")
    reply = await http.get("/v1/activities/waiting", params={"workflow": "orders.fulfil"}, headers=bearer(admin))
    (item,) = reply.json()["items"]

    assert item["activity_token"] == await TOKENS.get(activity_token_key("order-1"))
    assert (item["workflow"], item["name"], item["attempt"]) == ("orders.fulfil", "orders.request_approval", 1)
    assert await waiting(http, admin, name="billing.collect") == [("invoice-1", True)]
    assert await waiting(http, admin, inbox="true") == []


@pytest.mark.usefixtures("two_teams")
async def test_the_http_client_lists_the_same_and_pages_past_one_page(env: TestEnvironment) -> None:
    assert env.server_url is not None
    reader = await key(env, "workflows:read:*")
    async with await tether.Client.connect(env.server_url, api_key=reader) as client:
        listed = await client.waiting_activities()
        second = await client.waiting_activities(limit=1, offset=1)

    assert [(w.execution_id, w.activity_token) for w in listed] == [("order-1", None), ("invoice-1", None)]
    assert [w.execution_id for w in second] == ["invoice-1"]


async def test_a_page_says_where_the_next_one_starts(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    for n in range(3):
        await parked(env, fulfil, "o", f"page-{n}")
        env.clock.advance(1)

    first = (await http.get("/v1/activities/waiting", params={"limit": 2})).json()
    last = (await http.get("/v1/activities/waiting", params={"limit": 2, "offset": first["next_offset"]})).json()

    assert [item["execution_id"] for item in first["items"]] == ["page-0", "page-1"]
    assert [item["execution_id"] for item in last["items"]] == ["page-2"]
    assert last["next_offset"] is None
