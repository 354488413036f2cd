"""The web UI's overdue page: what waits for its token too long or near a deadline, by the server's clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tests.service.conftest import key
from tests.service.test_ui_pages import browser_like
from tether.testing import TestEnvironment

__all__ = ["browser_like"]  # a fixture, shared with the other page tests


@tether.activity(name="ui_overdue.callback", overdue_after=timedelta(days=2))
async def callback(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(name="ui_overdue.timed", timeout=timedelta(days=3, minutes=30))
async def timed(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="ui_overdue.orders")
async def orders(order_id: str) -> str:
    return await callback(order_id)


@tether.workflow(name="ui_overdue.shipping")
async def shipping(order_id: str) -> str:
    return await timed(order_id)


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    async with TestEnvironment(workflows=[orders, shipping], activities=[callback, timed], transport="http") as served:
        yield served


async def park(env: TestEnvironment, workflow: tether.Workflow[[str], str], execution_id: str) -> None:
    await env.engine.start_workflow(execution_id, workflow.name, json.dumps([execution_id]))
    await TOKENS.get(execution_id)
    await env.wait_for_idle()


@pytest.fixture
async def parked(env: TestEnvironment) -> None:
    """order-3d (its own 2 days passed), ship-3d (total deadline 30 minutes away), order-1d (not overdue)."""
    await park(env, orders, "order-3d")
    await park(env, shipping, "ship-3d")
    env.clock.advance(timedelta(days=2))
    await park(env, orders, "order-1d")
    env.clock.advance(timedelta(days=1))


@pytest.mark.usefixtures("parked")
async def test_the_overdue_page_lists_what_waits_too_long_or_near_a_deadline_with_why(
    browser_like: httpx.AsyncClient,
) -> None:
    page = (await browser_like.get("/overdue")).text
    home = (await browser_like.get("/")).text

    assert 'href="/overdue"' in home
    assert ">order-3d</a>" in page
    assert "waiting 3d, longer than 2d (its overdue_after)" in page
    assert ">ship-3d</a>" in page
    assert "total deadline in 30m" in page
    assert "waiting 3d, longer than 1d (the default)" in page
    assert "order-1d" not in page
    assert page.index("order-3d") < page.index("ship-3d")


@pytest.mark.usefixtures("parked")
async def test_the_form_sets_the_default_and_the_horizon_and_off_leaves_one_out(
    browser_like: httpx.AsyncClient,
) -> None:
    no_default = (await browser_like.get("/overdue", params={"waiting": "off"})).text
    nothing_near = (await browser_like.get("/overdue", params={"waiting": "off", "due": "10m"})).text
    by_workflow = (await browser_like.get("/overdue", params={"name": "ui_overdue.orders"})).text
    typo = (await browser_like.get("/overdue", params={"waiting": "soon"})).text

    assert ">ship-3d</a>" in no_default
    assert "(the default)" not in no_default
    assert ">ship-3d</a>" not in nothing_near
    assert ">order-3d</a>" in nothing_near
    assert ">ship-3d</a>" not in by_workflow
    assert "&#39;soon&#39; is not a positive duration" in typo
    assert 'value="off"' in no_default


@pytest.mark.usefixtures("parked")
async def test_a_signed_in_key_sees_only_the_workflows_it_may_read(env: TestEnvironment) -> None:
    assert env.server_url is not None
    reader = await key(env, "workflows:read:ui_overdue.shipping")
    await env.engine.create_api_key("admin", ["*:*:*"])  # with a key on the server, pages need one
    async with httpx.AsyncClient(base_url=env.server_url, cookies={"tether_api_key": reader}) as browser:
        page = (await browser.get("/overdue")).text
    assert ">ship-3d</a>" in page
    assert ">order-3d</a>" not in page
