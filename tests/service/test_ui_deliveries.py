"""The web UI's execution page shows each notification out and where its delivery stands."""

from __future__ import annotations

import httpx

import tether
from tests.helpers import receiver as receivers
from tests.helpers.activity_tests import new_id
from tether.testing import TestEnvironment


@tether.activity(name="ui.announce")
async def announce(order: str, urls: list[str]) -> str:
    tether.context().notify(urls)
    return tether.make_async()


@tether.workflow(name="ui.announced")
async def announced(order: str, urls: list[str]) -> str:
    return await announce(order, urls)


async def test_the_execution_page_shows_delivered_retrying_and_held_notifications() -> None:
    unregistered = "https://hooks.example.com/not-yet?kind=<b>"
    async with (
        receivers.serve() as up,
        receivers.serve() as down,
        TestEnvironment(workflows=[announced], activities=[announce], transport="http") as env,
    ):
        await env.engine.add_sink(up.url)
        await env.engine.add_sink(down.url)
        down.statuses = [503]
        execution_id = new_id("ui")
        await env.client.start_workflow(announced, "o-1", [up.url, down.url, unregistered], id=execution_id)
        await up.wait_for(1)
        await down.wait_for(1)
        await env.wait_for_idle()
        assert env.server_url is not None
        async with httpx.AsyncClient(base_url=env.server_url) as browser:
            page = (await browser.get(f"/executions/{execution_id}")).text

    section = page[page.index('id="notifications"') :]
    assert section.count("activity.waiting") == 3
    assert '<span class="state delivered">delivered</span>' in section
    assert '<span class="state retrying">retrying</span>' in section
    assert "HTTP 503: ok" in section
    assert '<span class="state held">held</span>' in section
    assert "tether sinks add URL" in section
    assert "kind=&lt;b&gt;" in section
    assert "<b>" not in section
