"""The execution page links the runs of a continued execution, a child's parent and a parent's children."""

from __future__ import annotations

from urllib.parse import quote

import httpx

import tether
from tests.helpers.workflows import new_id
from tether.testing import TestEnvironment


@tether.workflow(name="ui.looping")
async def looping(turn: int) -> int:
    if turn < 3:
        tether.continue_as_new(turn + 1)
    return turn


@tether.workflow(name="ui.parent")
async def parent(child_id: str) -> int:
    return await tether.run_workflow(looping, 2, id=child_id)


async def test_the_page_links_runs_parent_and_children() -> None:
    async with TestEnvironment(workflows=[looping, parent], transport="http") as env:
        parent_id, child_id = new_id("ui-parent"), new_id("ui-child")
        handle = await env.client.start_workflow(parent, child_id, id=parent_id)
        assert await handle.result() == 3
        assert env.server_url is not None
        async with httpx.AsyncClient(base_url=env.server_url) as browser:
            latest = await browser.get(f"/executions/{quote(child_id, safe='')}")
            assert latest.status_code == 200
            assert '<dd id="run">2' in latest.text
            assert f'href="/executions/{quote(child_id, safe="")}?run=1" rel="prev"' in latest.text
            assert f'<dd id="parent"><a href="/executions/{quote(parent_id, safe="")}">' in latest.text
            assert 'class="status completed"' in latest.text

            first = await browser.get(f"/executions/{quote(child_id, safe='')}", params={"run": 1})
            assert first.status_code == 200
            assert 'class="status continued"' in first.text
            assert f'href="/executions/{quote(child_id, safe="")}?run=2" rel="next"' in first.text

            missing = await browser.get(f"/executions/{quote(child_id, safe='')}", params={"run": 3})
            assert missing.status_code == 404

            page = await browser.get(f"/executions/{quote(parent_id, safe='')}")
            assert f'<dd id="children"><a href="/executions/{quote(child_id, safe="")}">{child_id}</a>' in page.text
