"""The human-in-the-loop path in a real browser: approve an order in the inbox, see the workflow finish.

Debian's chromium, driven by Playwright; screenshots are kept in test-artifacts/ (not committed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.service.conftest import snapshot
from tests.service.test_ui_pages import approve, notice, notify, order, waiting
from tether.testing import TestEnvironment

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    async with TestEnvironment(workflows=[order, notice], activities=[approve, notify], transport="http") as served:
        yield served


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    opened = await browser.new_page(viewport={"width": 1200, "height": 900})
    opened.set_default_timeout(10_000)  # a hang guard, not a timing
    yield opened
    await opened.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_approving_in_the_inbox_completes_the_workflow_shown_on_its_page(
    env: TestEnvironment, page: Page
) -> None:
    await waiting(env, order, "browser-1")

    await page.goto(f"{env.server_url}/inbox")
    task = page.locator("#task-browser-1-1")
    await task.get_by_label("By").fill("ana")
    await task.get_by_label("Amount").fill("42")
    await task.get_by_role("button", name="Complete").click()
    await expect(page).to_have_url(f"{env.server_url}/executions/browser-1?notice=activity+1+completed")

    assert await env.client.get_handle("browser-1").result() == "browser-1 approved by ana for 42"
    await page.reload()
    await expect(page.locator("#status")).to_have_text("completed")
    await expect(page.locator("#result")).to_contain_text("browser-1 approved by ana for 42")
    await shot(page, "ui-execution-completed")


async def test_a_bad_value_in_the_inbox_shows_the_field_error_and_changes_nothing(
    env: TestEnvironment, page: Page
) -> None:
    await waiting(env, order, "browser-2")
    before = await snapshot(env, "browser-2")

    await page.goto(f"{env.server_url}/inbox")
    task = page.locator("#task-browser-2-1")
    await task.get_by_label("By").fill("ana")
    await task.get_by_label("Amount").evaluate("input => input.type = 'text'")  # type what a number field refuses
    await task.get_by_label("Amount").fill("lots")
    await task.get_by_role("button", name="Complete").click()

    await expect(page.locator("#task-browser-2-1 .field-error")).to_be_visible()
    await expect(page.locator("#task-browser-2-1 .field.invalid")).to_contain_text("Amount")
    await shot(page, "ui-inbox-field-error")
    await expect(task.get_by_label("Amount")).to_have_value("lots")  # kept as typed
    assert await snapshot(env, "browser-2") == before


async def test_the_executions_list_links_to_the_execution_page(env: TestEnvironment, page: Page) -> None:
    await waiting(env, order, "browser-3")

    await page.goto(f"{env.server_url}/")
    await page.get_by_role("link", name="browser-3").click()

    await expect(page.locator("h1")).to_have_text("browser-3")
    await expect(page.locator("figure.timeline rect.seg.async")).to_have_count(1)
    await shot(page, "ui-execution-waiting")
