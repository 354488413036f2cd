"""Inbox forms over HTTP: an input left empty is no value; a field that needs one refuses it, changing nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tests.service.conftest import parked, snapshot
from tether.testing import TestEnvironment


class Review(pydantic.BaseModel):
    by: str
    score: int
    verdict: str = pydantic.Field(json_schema_extra={"enum": ["accept", "reject"]})
    note: str | None = None
    priority: int = 3
    cc: str | None
    """Required, but null will do."""


@tether.activity(name="empty.review", inbox=True)
async def review(order: str) -> Review:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(name="empty.name", inbox=True)
async def name(order: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.activity(name="empty.remark", inbox=True)
async def remark(order: str) -> str | None:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="empty.reviewed")
async def reviewed(order: str) -> dict[str, Any]:
    return (await review(order)).model_dump()


@tether.workflow(name="empty.named")
async def named(order: str) -> str:
    return await name(order)


@tether.workflow(name="empty.remarked")
async def remarked(order: str) -> str | None:
    return await remark(order)


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    async with TestEnvironment(
        workflows=[reviewed, named, remarked], activities=[review, name, remark], transport="http"
    ) as served:
        yield served


def invalid_fields(page: str) -> dict[str, str]:
    """The inputs a page marks invalid, with the error shown next to each."""
    labels = re.findall(r'<label class="field invalid">(.*?)</label>', page, re.DOTALL)
    found = {}
    for label in labels:
        (field,) = re.findall(r'name="([^"]+)"', label)
        (error,) = re.findall(r'<em class="field-error" role="alert">(.*?)</em>', label)
        found[field] = error
    return found


def attempt_of(execution_id: str) -> dict[str, str]:
    return {"execution_id": execution_id, "activity_id": "1", "attempt": "1"}


FILLED = {"by": "ana", "score": "4", "verdict": "accept", "note": "", "priority": "", "cc": ""}


@pytest.mark.parametrize(
    ("field", "typed"),
    [("by", ""), ("by", "   "), ("score", ""), ("verdict", "")],
    ids=["text empty", "text blank", "number empty", "choice empty"],
)
async def test_a_required_field_left_empty_shows_its_error_and_completes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient, field: str, typed: str
) -> None:
    await parked(env, reviewed, "review-1", "review-1")
    before = await snapshot(env, "review-1")

    reply = await http.post("/inbox/complete", data={**attempt_of("review-1"), **FILLED, field: typed})

    assert reply.status_code == 422
    assert invalid_fields(reply.text) == {field: "a value is required"}
    assert await snapshot(env, "review-1") == before
    assert [a.state for a in before[0].pending_activities] == [tether.ActivityState.ASYNC]


async def test_a_plain_text_result_left_empty_shows_its_error_and_completes_nothing(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, named, "name-1", "name-1")
    before = await snapshot(env, "name-1")

    reply = await http.post("/inbox/complete", data={**attempt_of("name-1"), "result": ""})

    assert reply.status_code == 422
    assert invalid_fields(reply.text) == {"result": "a value is required"}
    assert await snapshot(env, "name-1") == before


async def test_optional_fields_left_empty_take_their_defaults_and_null(
    env: TestEnvironment, http: httpx.AsyncClient
) -> None:
    await parked(env, reviewed, "review-2", "review-2")

    reply = await http.post("/inbox/complete", data={**attempt_of("review-2"), **FILLED})

    assert reply.status_code == 303, reply.text
    assert await env.client.get_handle("review-2").result() == {
        "by": "ana", "score": 4, "verdict": "accept", "note": None, "priority": 3, "cc": None
    }  # fmt: skip


async def test_a_result_that_may_be_null_left_empty_is_null(env: TestEnvironment, http: httpx.AsyncClient) -> None:
    await parked(env, remarked, "remark-1", "remark-1")

    reply = await http.post("/inbox/complete", data={**attempt_of("remark-1"), "result": ""})

    assert reply.status_code == 303, reply.text
    assert await env.client.get_handle("remark-1").result() is None


async def test_only_fields_that_need_a_value_are_marked_required(http: httpx.AsyncClient, env: TestEnvironment) -> None:
    await parked(env, reviewed, "review-3", "review-3")

    page = (await http.get("/inbox")).text

    marked = re.findall(r"<span>(\w+) \*</span>", page)
    assert marked == ["By", "Score", "Verdict"]
