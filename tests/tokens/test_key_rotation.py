"""Signing keys rotate: new tokens use the newest key, tokens of older keys still verify."""

from __future__ import annotations

import asyncio

import pytest

import tether
from tether.model import tokens
from tether.testing import TestEnvironment

HANDED_OUT: asyncio.Queue[str] = asyncio.Queue()


@pytest.fixture(autouse=True)
def fresh_queue() -> None:
    """A queue of this test's own: a queue binds to the event loop of the test that first waits on it."""
    global HANDED_OUT
    HANDED_OUT = asyncio.Queue()


@tether.activity(name="kr.approve")
async def kr_approve(order: str) -> str:
    await HANDED_OUT.put(tether.context().token)
    return tether.make_async()


@tether.workflow(name="kr.order")
async def kr_order(order: str) -> str:
    return await kr_approve(order)


async def test_tokens_signed_before_a_rotation_still_complete_and_new_ones_use_the_new_key() -> None:
    async with TestEnvironment(workflows=[kr_order], activities=[kr_approve]) as env:
        before = await env.client.start_workflow(kr_order, "A-1")
        old_token = await asyncio.wait_for(HANDED_OUT.get(), 10)

        new_key = await env.engine.rotate_signing_key()
        after = await env.client.start_workflow(kr_order, "A-2")
        new_token = await asyncio.wait_for(HANDED_OUT.get(), 10)

        assert tokens.key_id_of(old_token) == 1
        assert tokens.key_id_of(new_token) == new_key == 2
        await env.client.complete_activity(old_token, "signed by key 1")
        await env.client.complete_activity(new_token, "signed by key 2")
        assert await asyncio.wait_for(before.result(), 10) == "signed by key 1"
        assert await asyncio.wait_for(after.result(), 10) == "signed by key 2"
