"""The overdue page in a real browser: reached from the navigation, narrowed with its form."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.service.test_ui_browser import browser, page, shot
from tests.service.test_ui_overdue import env, parked
from tether.testing import TestEnvironment

pytestmark = pytest.mark.browser

__all__ = ["browser", "env", "page", "parked"]  # fixtures, shared with the other page tests


@pytest.mark.usefixtures("parked")
async def test_the_overdue_page_is_in_the_navigation_and_its_form_narrows_it(env: TestEnvironment, page: Page) -> None:
    await page.goto(f"{env.server_url}/")
    await page.get_by_role("link", name="Overdue").click()
    await expect(page).to_have_url(f"{env.server_url}/overdue")
    rows = page.locator("table.overdue tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("waiting 3d, longer than 2d (its overdue_after)")
    await expect(rows.nth(1)).to_contain_text("total deadline in 30m")
    await shot(page, "ui-overdue")

    await page.get_by_label("Waiting longer than").fill("off")
    await page.get_by_label("Deadline within").fill("10m")
    await page.get_by_role("button", name="Filter").click()

    await expect(rows).to_have_count(1)
    await expect(rows.nth(0)).to_contain_text("order-3d")
    await expect(page.get_by_role("link", name="Overdue")).to_have_attribute("aria-current", "page")
