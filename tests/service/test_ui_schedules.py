"""The web UI's Schedules pages: the list with next fires, one schedule's latest fires, and its buttons."""

from __future__ import annotations

import httpx

from tests.service.test_ui_pages import browser_like, env, order
from tether.testing import TestEnvironment

__all__ = ["browser_like", "env"]  # fixtures, shared with the other page tests


async def make(env: TestEnvironment, schedule_id: str, *, paused: bool = False) -> None:
    await env.engine.create_schedule(
        schedule_id, order.name, '["o-1"]', cron="0 9 * * *", timezone="Europe/Berlin", overlap="skip",
        catch_up="one", paused=paused,
    )  # fmt: skip


async def test_the_schedules_page_lists_each_schedule_with_its_next_fire_or_its_pause(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await make(env, "morning")
    await make(env, "held", paused=True)

    page = (await browser_like.get("/schedules")).text

    assert 'href="/schedules/morning"' in page
    assert "2026-01-01 08:00:00" in page  # 09:00 in Berlin
    assert "Europe/Berlin" in page
    assert "paused" in page
    assert 'href="/schedules"' in page  # in the navigation


async def test_the_buttons_pause_trigger_and_unpause_a_schedule_and_its_page_shows_the_fire(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await make(env, "morning")
    page = (await browser_like.get("/schedules/morning")).text
    assert 'action="/schedules/morning/pause"' in page
    assert "Nothing fired yet." in page

    paused = await browser_like.post("/schedules/morning/pause")
    assert paused.status_code == 303
    assert (await env.engine.describe_schedule("morning")).paused
    triggered = await browser_like.post("/schedules/morning/trigger")
    shown = (await browser_like.get(triggered.headers["location"])).text
    assert "started morning-2026-01-01T00:00:00.000Z" in shown
    assert 'href="/executions/morning-2026-01-01T00%3A00%3A00.000Z"' in shown
    assert "started (trigger)" in shown
    assert 'action="/schedules/morning/unpause"' in shown
    await browser_like.post("/schedules/morning/unpause")
    assert not (await env.engine.describe_schedule("morning")).paused


async def test_a_cross_origin_post_changes_no_schedule(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    await make(env, "morning")
    before = await env.engine.describe_schedule("morning")

    for action in ("pause", "trigger"):
        reply = await browser_like.post(f"/schedules/morning/{action}", headers={"Origin": "http://evil.example"})
        assert reply.status_code == 403

    assert await env.engine.describe_schedule("morning") == before
    missing = await browser_like.get("/schedules/nothing")
    assert missing.status_code == 404
