"""The web UI's Terminate and Delete buttons: forms that act with the signed-in key, same-origin only."""

from __future__ import annotations

import httpx

import tether
from tests.service.conftest import key, snapshot
from tests.service.test_ui_pages import browser_like, env, order, waiting
from tether.testing import TestEnvironment

__all__ = ["browser_like", "env"]  # fixtures, shared with the other page tests


async def test_a_running_execution_has_a_terminate_form_and_no_delete_button(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "term-ui-1")

    page = (await browser_like.get("/executions/term-ui-1")).text

    assert 'action="/executions/term-ui-1/terminate"' in page
    assert 'name="reason"' in page
    assert "Delete execution" not in page


async def test_the_terminate_form_terminates_with_its_reason(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "term-ui-2")

    reply = await browser_like.post("/executions/term-ui-2/terminate", data={"reason": "  stuck  "})
    shown = await browser_like.get(reply.headers["location"])

    assert reply.status_code == 303
    description = await env.engine.describe("term-ui-2")
    assert description.status == tether.WorkflowStatus.TERMINATED
    assert description.error is not None
    assert description.error["message"] == "stuck"
    assert "terminated" in shown.text
    assert "Delete execution" in shown.text
    assert 'action="/executions/term-ui-2/terminate"' not in shown.text


async def test_terminating_a_closed_execution_shows_the_refusal_and_changes_nothing(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "term-ui-3")
    await env.engine.terminate_workflow("term-ui-3", "first")
    before = await snapshot(env, "term-ui-3")

    reply = await browser_like.post("/executions/term-ui-3/terminate", data={"reason": "again"})

    assert reply.status_code == 409
    assert "closed already" in reply.text
    assert await snapshot(env, "term-ui-3") == before


async def test_the_delete_button_deletes_a_closed_execution_and_its_page_is_then_not_found(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "del-ui-1")
    await env.engine.terminate_workflow("del-ui-1", "")

    reply = await browser_like.post("/executions/del-ui-1/delete")
    listing = await browser_like.get(reply.headers["location"])
    page = await browser_like.get("/executions/del-ui-1")

    assert reply.status_code == 303
    assert "del-ui-1 deleted" in listing.text
    assert page.status_code == 404


async def test_terminate_and_delete_forms_from_another_origin_or_without_the_write_scope_are_refused(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "csrf-term")
    await waiting(env, order, "csrf-del")
    await env.engine.terminate_workflow("csrf-del", "")
    before = [await snapshot(env, "csrf-term"), await snapshot(env, "csrf-del")]
    evil = {"Origin": "http://evil.example"}

    cross_origin = [
        await browser_like.post("/executions/csrf-term/terminate", data={"reason": "x"}, headers=evil),
        await browser_like.post("/executions/csrf-del/delete", headers=evil),
    ]
    reader = await key(env, "workflows:read:*")
    await browser_like.post("/login", data={"api_key": reader, "next": "/"})
    read_only = [
        await browser_like.post("/executions/csrf-term/terminate", data={"reason": "x"}),
        await browser_like.post("/executions/csrf-del/delete"),
    ]

    assert [r.status_code for r in cross_origin + read_only] == [403] * 4
    assert [await snapshot(env, "csrf-term"), await snapshot(env, "csrf-del")] == before
