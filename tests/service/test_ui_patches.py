"""The execution page lists the patches (tether.patched) its run recorded."""

from __future__ import annotations

import httpx

import tether
from tether.testing import TestEnvironment


@tether.workflow(name="ui.patched")
async def patched_order(order_id: str) -> str:
    if tether.patched("charge-v2"):
        order_id += " (v2)"
    tether.patched("<tax & fees>")
    return order_id


@tether.workflow(name="ui.unpatched")
async def unpatched_order(order_id: str) -> str:
    return order_id


async def test_execution_page_shows_the_patches_its_run_recorded() -> None:
    async with TestEnvironment(workflows=[patched_order, unpatched_order], transport="http") as env:
        assert await (await env.client.start_workflow(patched_order, "o", id="with-patches")).result() == "o (v2)"
        await (await env.client.start_workflow(unpatched_order, "o", id="without")).result()
        assert env.server_url is not None
        async with httpx.AsyncClient(base_url=env.server_url) as browser:
            page = (await browser.get("/executions/with-patches")).text
            plain = (await browser.get("/executions/without")).text

    assert '<dd id="patches"><code>charge-v2</code> <code>&lt;tax &amp; fees&gt;</code></dd>' in page
    assert 'id="patches"' not in plain
