"""A tether server on loopback over a fresh store, with workflows of two teams to scope keys to."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pydantic
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tether.testing import TestEnvironment


class Approval(pydantic.BaseModel):
    by: str
    amount: int


@tether.activity(name="orders.request_approval", retry=tether.RetryPolicy(max_attempts=2))
async def request_approval(order: str) -> Approval:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    TOKENS.put(activity_token_key(ctx.execution_id), ctx.activity_token)
    return tether.make_async()


def activity_token_key(execution_id: str) -> str:
    """Where in TOKENS ``orders.request_approval`` leaves its activity token."""
    return f"{execution_id} activity"


@tether.workflow(name="orders.fulfil")
async def fulfil(order: str) -> str:
    approval = await request_approval(order)
    return f"{order} approved by {approval.by} for {approval.amount}"


@tether.activity(name="billing.collect")
async def collect(invoice: str) -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="billing.charge")
async def charge(invoice: str) -> str:
    return await collect(invoice)


WORKFLOWS: list[tether.Workflow[..., Any]] = [fulfil, charge]
ACTIVITIES: list[tether.Activity[..., Any]] = [request_approval, collect]


@pytest.fixture
async def env() -> AsyncIterator[TestEnvironment]:
    """A worker, a store and the HTTP API on a loopback port."""
    async with TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES, transport="http") as served:
        yield served


@pytest.fixture
async def http(env: TestEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the server, for what a service in another language would send."""
    assert env.server_url is not None
    async with httpx.AsyncClient(base_url=env.server_url) as client:
        yield client


async def key(env: TestEnvironment, *scopes: str, name: str = "test-key") -> str:
    """A new API key with these scopes, in plain text."""
    _, plain = await env.engine.create_api_key(name, list(scopes))
    return plain


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def parked(env: TestEnvironment, workflow: tether.Workflow[..., Any], arg: str, execution_id: str) -> str:
    """Start an execution (directly on the engine, needing no key) whose activity goes async; return its token."""
    await env.engine.start_workflow(execution_id, workflow.name, json.dumps([arg]))
    token = await TOKENS.get(execution_id)
    await env.wait_for_idle()
    return token


async def snapshot(env: TestEnvironment, execution_id: str) -> tuple[tether.WorkflowDescription, list[Any]]:
    """Everything stored about an execution, read past the server, to compare before and after a refusal."""
    return await env.engine.describe(execution_id), await env.engine.history(execution_id)
