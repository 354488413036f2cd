"""The execution page's messages and requests, and its form that sends a message with the signed-in key."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.service.conftest import key, snapshot
from tests.service.test_ui_pages import browser_like
from tether.errors import RequestRejected
from tether.testing import TestEnvironment

__all__ = ["browser_like"]  # a fixture, shared with the other page tests


class Note(pydantic.BaseModel):
    text: str


@tether.workflow(name="ui.desk", messages={"note": Note})
async def desk() -> str:
    """Takes a note, answers one request and rejects the next, takes a request it never answers, then waits."""
    first: Note = await tether.receive("note")
    asked = await tether.receive_request("ask")
    asked.reply({"first": first.text, "asked": asked.payload})
    refused = await tether.receive_request("ask")
    refused.reject("not <b>now</b>")
    await tether.receive_request("hold")
    await tether.receive("end")
    return first.text


@tether.workflow(name="ui.listener", messages={"note": Note})
async def listener() -> str:
    note: Note = await tether.receive("note")
    return note.text


@tether.workflow(name="ui.collector")
async def collector() -> None:
    await tether.receive("never")  # every message sent to it stays pending


@tether.workflow(name="ui.reporter")
async def reporter() -> str:
    tether.publish("progress", {"done": 1, "note": "<i>half</i>"})
    tether.publish("progress", {"done": 2, "note": "<i>all</i>"})
    tether.publish("big", "x" * 2000)
    await tether.receive("end")
    return "done"


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    async with TestEnvironment(workflows=[desk, listener, collector, reporter], transport="http") as served:
        yield served


async def started(env: TestEnvironment, workflow: tether.Workflow[[], Any], execution_id: str) -> None:
    await env.engine.start_workflow(execution_id, workflow.name, "[]")
    await env.wait_for_idle()


def rows(page: str) -> list[str]:
    """The rows of the page's messages table, newest first."""
    body = page.split('<table class="list messages">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr id="message-\d+">.*?</tr>', body, re.DOTALL)


def cells(row: str) -> list[str]:
    """The text of each cell, as a browser shows it."""
    found = re.findall(r"<td>(.*?)</td>", row, re.DOTALL)
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()) for cell in found]


async def test_the_page_lists_messages_in_their_states_and_a_requests_reply_or_rejection(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, desk, "desk-1")
    await env.client.send("desk-1", "note", {"text": "first"}, key="n-1")
    reply = await env.client.request("desk-1", "ask", "why?")
    with pytest.raises(RequestRejected):
        await env.client.request("desk-1", "ask", "again?")
    await env.engine.send_message("desk-1", "request", "hold", '"wait"')
    await env.client.send("desk-1", "note", {"text": "second"})
    await env.wait_for_idle()

    page = (await browser_like.get("/executions/desk-1")).text

    assert reply == {"first": "first", "asked": "why?"}
    shown = [cells(row) for row in rows(page)]
    assert [(kind, name.split(" key ")[0], state) for _, kind, name, state, *_ in shown] == [
        ("message", "note", "pending"),
        ("request", "hold", "received"),
        ("request", "ask", "rejected"),
        ("request", "ask", "replied"),
        ("message", "note", "received"),
    ]
    assert shown[4][2] == "note key n-1"
    assert shown[2][4:6] == ['"again?"', "not <b>now</b>"]  # the reason as text, its markup escaped in the page
    assert shown[3][4:6] == ['"why?"', '{"first": "first", "asked": "why?"}']
    assert shown[0][4:6] == ['{"text": "second"}', ""]
    assert all(sent for *_, sent, _ in shown)  # every message has its sent time
    assert [bool(updated) for *_, updated in shown] == [False, True, True, True, True]
    assert re.search(r"1 pending</span>\s*<span class=\"state received\">2 received", page)
    assert "not &lt;b&gt;now&lt;/b&gt;" in page


async def test_the_send_form_sends_a_message_the_workflow_receives(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, listener, "listen-1")
    form = (await browser_like.get("/executions/listen-1")).text

    sent = await browser_like.post(
        "/executions/listen-1/send", data={"name": " note ", "payload": '{"text": "hello"}', "key": ""}
    )
    await env.wait_for_idle()
    shown = await browser_like.get(sent.headers["location"])

    assert 'action="/executions/listen-1/send"' in form
    assert sent.status_code == 303
    assert sent.headers["location"] == "/executions/listen-1?notice=message+1+sent#message-1"
    assert await env.client.get_handle("listen-1").result() == "hello"
    assert "message 1 sent" in shown.text
    assert [cells(row)[1:6] for row in rows(shown.text)] == [["message", "note", "received", '{"text": "hello"}', ""]]
    assert 'action="/executions/listen-1/send"' not in shown.text  # closed: no form any more


async def test_the_same_key_twice_is_one_message_and_another_payload_under_it_is_refused(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, collector, "keyed-1")
    data = {"name": "hi", "payload": "[1, 2]", "key": "k-1"}
    first = await browser_like.post("/executions/keyed-1/send", data=data)
    again = await browser_like.post("/executions/keyed-1/send", data=data)
    before = await snapshot(env, "keyed-1")

    other = await browser_like.post("/executions/keyed-1/send", data={**data, "payload": "[3]"})

    assert first.status_code == again.status_code == 303
    assert "nothing+changed" in again.headers["location"]
    assert len(rows((await browser_like.get("/executions/keyed-1")).text)) == 1
    assert other.status_code == 409
    assert re.search(
        r'class="field invalid"><span>Key.*?field-error" role="alert">key &#39;k-1&#39; of execution',
        other.text,
        re.DOTALL,
    )
    assert 'value="k-1"' in other.text
    assert "[3]</textarea>" in other.text
    assert await snapshot(env, "keyed-1") == before


async def test_a_payload_that_does_not_fit_the_declared_type_or_is_not_json_is_shown_and_changes_nothing(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, listener, "bad-payload")
    before = await snapshot(env, "bad-payload")

    wrong_type = await browser_like.post(
        "/executions/bad-payload/send", data={"name": "note", "payload": '{"text": 5}'}
    )
    not_json = await browser_like.post("/executions/bad-payload/send", data={"name": "note", "payload": "{text:"})
    no_name = await browser_like.post("/executions/bad-payload/send", data={"name": " ", "payload": "1"})

    assert [r.status_code for r in (wrong_type, not_json, no_name)] == [422, 422, 422]
    assert "payload does not match the declared type at payload.text" in wrong_type.text
    assert "{&#34;text&#34;: 5}</textarea>" in wrong_type.text  # kept as typed
    assert "not valid JSON" in not_json.text
    assert re.search(r'class="field invalid"><span>Name \*</span>', no_name.text)
    assert "data-reload" not in wrong_type.text  # reloading would post the form again
    assert await snapshot(env, "bad-payload") == before


async def test_sending_to_a_closed_execution_shows_the_refusal_and_changes_nothing(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, collector, "closed-1")
    await env.engine.terminate_workflow("closed-1", "done")
    before = await snapshot(env, "closed-1")

    reply = await browser_like.post("/executions/closed-1/send", data={"name": "hi", "payload": ""})

    assert reply.status_code == 409
    assert "Not sent: execution &#39;closed-1&#39; is closed already (terminated)" in reply.text
    assert 'role="alert"' in reply.text
    assert await snapshot(env, "closed-1") == before


async def test_a_key_without_the_send_scope_or_a_form_from_another_origin_is_refused(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, collector, "scoped-1")
    before = await snapshot(env, "scoped-1")
    data = {"name": "hi", "payload": '"x"'}

    cross_origin = await browser_like.post(
        "/executions/scoped-1/send", data=data, headers={"Origin": "http://x.example"}
    )
    reader = await key(env, "workflows:read:*", "workflows:write:*")
    await browser_like.post("/login", data={"api_key": reader, "next": "/"})
    no_scope = await browser_like.post("/executions/scoped-1/send", data=data)
    unchanged = await snapshot(env, "scoped-1")
    sender = await key(env, "workflows:send:ui.collector")
    await browser_like.post("/login", data={"api_key": sender, "next": "/"})
    send_only = await browser_like.post("/executions/scoped-1/send", data=data)

    assert cross_origin.status_code == 403
    assert no_scope.status_code == 403
    assert '<p class="error" role="alert">Not sent: API key' in no_scope.text
    assert "has no workflows:send scope for workflow &#39;ui.collector&#39;" in no_scope.text
    assert unchanged == before
    assert send_only.status_code == 303  # sending needs no read scope, though the page it leads to does
    assert (await browser_like.get(send_only.headers["location"])).status_code == 403
    assert [m.payload for m in (await env.engine.describe("scoped-1")).messages] == ["x"]


async def test_payloads_names_keys_and_answers_are_escaped(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, collector, "escape-1")
    await env.client.send("escape-1", "<b>name</b>", {"<img src=x onerror=alert(1)>": "</td><script>alert(2)</script>"},
                          key="<i>key</i>")  # fmt: skip
    refused = await browser_like.post(
        "/executions/escape-1/send", data={"name": "n", "payload": '"<script>alert(3)</script>', "key": '"><b>'}
    )

    page = (await browser_like.get("/executions/escape-1")).text

    for shown in (page, refused.text):
        assert "<script>alert" not in shown
        assert "<img src=x" not in shown
        assert "<b>name" not in shown
        assert "<i>key" not in shown
    assert "&lt;b&gt;name&lt;/b&gt;" in page
    assert "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert 'value="&#34;&gt;&lt;b&gt;"' in refused.text


async def test_an_execution_with_more_messages_than_shown_lists_the_latest_newest_first(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, collector, "busy-1")
    for index in range(120):
        await env.engine.send_message("busy-1", "message", "tick", str(index))

    page = (await browser_like.get("/executions/busy-1")).text

    shown = [cells(row) for row in rows(page)]
    assert len(shown) == 100
    assert [row[4] for row in (shown[0], shown[-1])] == ["119", "20"]
    assert "100 pending" in page
    assert "the latest 100, newest first" in page
    assert '<div class="scroll">' in page  # the list scrolls within the page, under its heading and the form


async def test_the_page_lists_published_values_with_their_versions_escaped(
    env: TestEnvironment, browser_like: httpx.AsyncClient
) -> None:
    await started(env, reporter, "rep-1")
    page = (await browser_like.get("/executions/rep-1")).text
    table = page.split('<table class="list published">', 1)[1].split("</table>", 1)[0]
    found = [cells(row) for row in re.findall(r'<tr id="published-\d+">.*?</tr>', table, re.DOTALL)]
    assert sorted(row[:3] for row in found) == [
        ["big", "1", "over 1 KiB: read it with tether workflow published"],
        ["progress", "2", '{"done": 2, "note": "<i>all</i>"}'],
    ]
    assert "<i>all</i>" not in table
