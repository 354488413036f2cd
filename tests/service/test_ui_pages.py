"""The web UI's pages over HTTP: listings and filters, sign-in, permissions, cancelling, and the inbox's refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.helpers.closing import terminate
from tests.helpers.workflows import TOKENS
from tests.service.conftest import key, snapshot
from tether.testing import TestEnvironment


class Approval(pydantic.BaseModel):
    by: str
    amount: int
    urgent: bool = False


@tether.activity(name="ui.approve", inbox=True, retry=tether.RetryPolicy(max_attempts=2))
async def approve(order: str) -> Approval:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(name="ui.notify")
async def notify(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


class Refund(pydantic.BaseModel):
    amount: int
    reason: str


@tether.activity(name="ui.refund")
async def refund(order: str, amount: int) -> Refund:
    if amount >= 100:  # decided at run time: large refunds need a person
        tether.context().inbox(f"Approve the refund of {order}", description=f"{amount} EUR", form=Refund)
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="ui.refunds")
async def refunds(order_id: str, amount: int) -> str:
    decision = await refund(order_id, amount)
    return f"{decision.amount} refunded: {decision.reason}"


@tether.workflow(name="ui.order")
async def order(order_id: str) -> str:
    approval = await approve(order_id)
    return f"{order_id} approved by {approval.by} for {approval.amount}"


@tether.workflow(name="ui.notice")
async def notice(order_id: str) -> str:
    return await notify(order_id)


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    async with TestEnvironment(
        workflows=[order, notice, refunds], activities=[approve, notify, refund], transport="http"
    ) as served:
        yield served


@pytest.fixture
async def browser_like(env: TestEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    assert env.server_url is not None
    async with httpx.AsyncClient(base_url=env.server_url, follow_redirects=False) as client:
        yield client


async def waiting(env: TestEnvironment, workflow: tether.Workflow[..., Any], execution_id: str) -> None:
    await env.engine.start_workflow(execution_id, workflow.name, json.dumps([execution_id]))
    await TOKENS.get(execution_id)
    await env.wait_for_idle()


async def test_list_filters_by_status_name_and_id_prefix(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    for execution_id in ("order-1", "order-2", "other-1"):
        await waiting(env, order, execution_id)
    await waiting(env, notice, "notice-1")
    await env.engine.cancel_workflow("order-2")
    await env.wait_for_idle()

    everything = (await browser_like.get("/")).text
    by_prefix = (await browser_like.get("/", params={"prefix": "order-"})).text
    by_name = (await browser_like.get("/", params={"name": "ui.notice"})).text
    by_status = (await browser_like.get("/", params={"status": "cancelled"})).text

    assert all(f">{i}</a>" in everything for i in ("order-1", "order-2", "other-1", "notice-1"))
    assert (">order-1</a>" in by_prefix, ">order-2</a>" in by_prefix, ">other-1</a>" in by_prefix) == (
        True,
        True,
        False,
    )
    assert ">notice-1</a>" in by_name
    assert ">order-1</a>" not in by_name
    assert ">order-2</a>" in by_status
    assert ">order-1</a>" not in by_status


async def test_list_pages_fifty_at_a_time(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    for index in range(55):
        await env.engine.start_workflow(f"bulk-{index:03d}", "ui.notice", '["x"]')
        env.clock.advance(1)

    first = (await browser_like.get("/")).text
    second = (await browser_like.get("/", params={"offset": 50})).text

    assert first.count('href="/executions/bulk-') == 50
    assert ">bulk-054</a>" in first
    assert "older →" in first
    assert second.count('href="/executions/bulk-') == 5
    assert ">bulk-000</a>" in second
    assert "older →" not in second


async def test_execution_page_shows_timeline_pending_activity_and_history(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "page-1")

    page = (await browser_like.get("/executions/page-1")).text

    assert "ui.approve" in page
    assert 'class="seg async"' in page  # the attempt is drawn as waiting for its token
    assert "ActivityWentAsync" in page
    assert "Cancel execution" in page


async def test_cancel_button_cancels_the_execution(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    await waiting(env, order, "cancel-ui")

    reply = await browser_like.post("/executions/cancel-ui/cancel")
    await env.wait_for_idle()

    assert reply.status_code == 303
    assert (await env.engine.describe("cancel-ui")).status == tether.WorkflowStatus.CANCELLED


async def test_resume_button_shows_on_a_terminated_execution_and_resumes_it(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "resume-ui")
    running_page = (await browser_like.get("/executions/resume-ui")).text
    await terminate(env.engine, "resume-ui")
    closed_page = (await browser_like.get("/executions/resume-ui")).text

    reply = await browser_like.post("/executions/resume-ui/resume")
    await env.wait_for_idle()

    assert "Resume execution" not in running_page
    assert "Resume execution" in closed_page
    assert reply.status_code == 303
    assert (await env.engine.describe("resume-ui")).status == tether.WorkflowStatus.RUNNING


async def test_inbox_lists_activities_for_people_and_all_waiting_ones_on_request(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "inbox-1")
    await waiting(env, notice, "inbox-2")

    for_people = (await browser_like.get("/inbox")).text
    everything = (await browser_like.get("/inbox", params={"all": "1"})).text

    assert "inbox-1" in for_people
    assert "inbox-2" not in for_people
    assert "inbox-1" in everything
    assert "inbox-2" in everything
    assert 'name="amount"' in for_people  # a field per property of the declared result type


async def test_an_activity_asks_for_a_person_at_run_time_with_its_title_and_form(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    for execution_id, amount in (("refund-big", 250), ("refund-small", 20)):
        await env.engine.start_workflow(execution_id, "ui.refunds", json.dumps([execution_id, amount]))
        await TOKENS.get(execution_id)
    await env.wait_for_idle()

    page = (await browser_like.get("/inbox")).text
    done = await browser_like.post(
        "/inbox/complete",
        data={"execution_id": "refund-big", "activity_id": "1", "attempt": "1", "amount": "250", "reason": "damaged"},
    )

    assert "Approve the refund of refund-big" in page
    assert "250 EUR" in page
    assert 'name="reason"' in page
    assert "refund-small" not in page
    assert done.status_code == 303
    assert await env.client.get_handle("refund-big").result() == "250 refunded: damaged"


async def test_inbox_form_with_a_wrong_value_shows_the_field_error_and_changes_nothing(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "bad-1")
    before = await snapshot(env, "bad-1")

    reply = await browser_like.post(
        "/inbox/complete",
        data={"execution_id": "bad-1", "activity_id": "1", "attempt": "1", "by": "ana", "amount": "lots"},
    )

    assert reply.status_code == 422
    assert 'class="field invalid"' in reply.text
    assert "field-error" in reply.text
    assert 'value="lots"' in reply.text  # what the person typed is kept
    assert await snapshot(env, "bad-1") == before


async def test_inbox_form_completes_the_activity(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    await waiting(env, order, "good-1")

    reply = await browser_like.post(
        "/inbox/complete",
        data={"execution_id": "good-1", "activity_id": "1", "attempt": "1", "by": "ana", "amount": "12"},
    )

    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/executions/good-1")
    assert await env.client.get_handle("good-1").result() == "good-1 approved by ana for 12"


async def test_inbox_fail_form_fails_the_attempt(env: TestEnvironment, browser_like: httpx.AsyncClient) -> None:
    await waiting(env, order, "fail-1")

    reply = await browser_like.post(
        "/inbox/fail",
        data={"execution_id": "fail-1", "activity_id": "1", "attempt": "1", "error": "Rejected",
              "message": "over budget", "non_retryable": "on"},
    )  # fmt: skip

    assert reply.status_code == 303
    with pytest.raises(tether.errors.WorkflowFailed) as failed:
        await env.client.get_handle("fail-1").result()
    assert "over budget" in str(failed.value)


async def test_completing_a_stale_attempt_in_the_inbox_is_refused(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "stale-1")
    data = {"execution_id": "stale-1", "activity_id": "1", "attempt": "1", "by": "ana", "amount": "1"}
    assert (await browser_like.post("/inbox/complete", data=data)).status_code == 303
    before = await snapshot(env, "stale-1")

    again = await browser_like.post("/inbox/complete", data={**data, "by": "bob"})

    assert again.status_code == 409
    assert "already closed" in again.text
    assert await snapshot(env, "stale-1") == before


async def test_with_keys_pages_ask_to_sign_in_and_a_key_sees_only_its_workflows(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "keys-order")
    await waiting(env, notice, "keys-notice")
    orders_only = await key(env, "workflows:read:ui.order", "activities:write:ui.order")

    anonymous = await browser_like.get("/")
    wrong = await browser_like.post("/login", data={"api_key": "tether_0_nope", "next": "/"})
    signed_in = await browser_like.post("/login", data={"api_key": orders_only, "next": "/"})
    listing = await browser_like.get("/")  # the client keeps the cookie, as a browser does
    forbidden = await browser_like.get("/executions/keys-notice")

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert wrong.status_code == 401
    assert signed_in.status_code == 303
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    assert "samesite=strict" in signed_in.headers["set-cookie"].lower()
    assert ">keys-order</a>" in listing.text
    assert "keys-notice" not in listing.text
    assert forbidden.status_code == 403


async def test_a_form_posted_from_another_origin_is_refused(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await waiting(env, order, "csrf-1")
    before = await snapshot(env, "csrf-1")

    reply = await browser_like.post("/executions/csrf-1/cancel", headers={"Origin": "http://evil.example"})

    assert reply.status_code == 403
    assert await snapshot(env, "csrf-1") == before


async def test_the_ui_is_not_in_the_api_document(browser_like: httpx.AsyncClient) -> None:
    paths = (await browser_like.get("/v1/openapi.json")).json()["paths"]

    assert all(path.startswith("/v1/") for path in paths)


async def test_values_from_executions_are_escaped_in_pages(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    execution_id = "<script>alert(1)</script>"
    await env.engine.start_workflow(execution_id, "ui.order", json.dumps(["<img src=x onerror=alert(2)>"]))
    await TOKENS.get(execution_id)
    await env.wait_for_idle()

    listing = (await browser_like.get("/")).text
    page = (await browser_like.get("/executions/%3Cscript%3Ealert(1)%3C%2Fscript%3E")).text
    inbox = (await browser_like.get("/inbox")).text

    for html in (listing, page, inbox):
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
