"""Sending a message from an execution's page in a real browser, and seeing the workflow take it."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.service.conftest import snapshot
from tests.service.test_ui_browser import ARTIFACTS, browser, page, shot
from tests.service.test_ui_messages import collector, env, listener, started
from tether.testing import TestEnvironment

__all__ = ["browser", "env", "page"]  # fixtures, shared with the other page tests

pytestmark = pytest.mark.browser


async def test_the_send_form_sends_a_message_the_workflow_takes(env: TestEnvironment, page: Page) -> None:
    await started(env, listener, "browser-send-1")

    await page.goto(f"{env.server_url}/executions/browser-send-1")
    form = page.locator("form.send")
    await form.get_by_label("Name").fill("note")
    await form.get_by_label("Payload").fill('{"text": "from the browser"}')
    await form.get_by_role("button", name="Send message").click()
    await expect(page).to_have_url(f"{env.server_url}/executions/browser-send-1?notice=message+1+sent#message-1")

    assert await env.client.get_handle("browser-send-1").result() == "from the browser"
    await page.reload()
    await expect(page.locator("#message-1 .state")).to_have_text("received")
    await expect(page.locator("#message-1")).to_contain_text('{"text": "from the browser"}')
    await shot(page, "ui-message-sent")


async def test_a_refused_payload_shows_beside_its_input_as_typed_and_changes_nothing(
    env: TestEnvironment, page: Page
) -> None:
    await started(env, listener, "browser-send-2")
    before = await snapshot(env, "browser-send-2")

    await page.goto(f"{env.server_url}/executions/browser-send-2")
    form = page.locator("form.send")
    await form.get_by_label("Name").fill("note")
    await form.get_by_label("Payload").fill('{"text": 42}')
    await form.get_by_role("button", name="Send message").click()

    await expect(page.locator("form.send .field.invalid")).to_contain_text("does not match the declared type")
    await expect(page.locator("form.send").get_by_label("Payload")).to_have_value('{"text": 42}')
    await shot(page, "ui-message-refused")
    assert await snapshot(env, "browser-send-2") == before


async def test_a_hundred_messages_scroll_under_the_form(env: TestEnvironment, page: Page) -> None:
    await started(env, collector, "browser-busy")
    for index in range(120):
        await env.engine.send_message(
            "browser-busy", "message", "tick", f'{{"index": {index}, "note": "{"x" * index}"}}'
        )

    await page.goto(f"{env.server_url}/executions/browser-busy")

    await expect(page.locator("table.messages tbody tr")).to_have_count(100)
    scroller = page.locator("#messages .scroll")
    box = await scroller.bounding_box()
    assert box is not None
    assert box["height"] < 900 / 1.5  # the list scrolls inside the page instead of pushing the history away
    form = await page.locator("form.send").bounding_box()
    assert form is not None
    assert form["y"] < box["y"]  # the form comes before the list, not after a hundred rows
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator("#messages").screenshot(path=str(ARTIFACTS / "ui-messages-many.png"))
