"""Workflows the CLI tests' server runs (``tether server --worker tests.cli.cli_app``).

An async activity writes its tokens to files named after its execution (and the attempt, or
``activity`` for the activity token), in the directory the test gives through
TETHER_TEST_TOKENS: the test reads them as a queue consumer would.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pydantic

import tether


class Approval(pydantic.BaseModel):
    by: str


def _hand_out_tokens() -> None:
    """Write this attempt's token, and the activity token, where the test reads them."""
    ctx = tether.context()
    folder = Path(os.environ["TETHER_TEST_TOKENS"])
    for name, token in ((f"{ctx.attempt}", ctx.token), ("activity", ctx.activity_token)):
        path = folder / f"{ctx.execution_id}.{name}.token"
        path.with_suffix(".tmp").write_text(token)
        path.with_suffix(".tmp").rename(path)  # appears whole or not at all


@tether.activity(name="cli.request_approval", retry=tether.RetryPolicy(max_attempts=2))
async def request_approval(order: str) -> Approval:
    _hand_out_tokens()
    return tether.make_async()


@tether.activity(
    name="cli.review",
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1)),
)
async def review(order: str) -> Approval:
    _hand_out_tokens()
    return tether.make_async()


@tether.workflow(name="cli.reviewed_order")
async def reviewed_order(order_id: str) -> str:
    approval = await review(order_id)
    return f"{order_id} reviewed by {approval.by}"


@tether.workflow(name="cli.order")
async def order(order_id: str) -> str:
    approval = await request_approval(order_id)
    return f"{order_id} approved by {approval.by}"


@tether.activity(name="cli.divide")
def divide(a: int, b: int) -> float:
    return a / b


@tether.workflow(name="cli.ratio")
async def ratio(a: int, b: int) -> float:
    return await divide(a, b)


@tether.workflow(name="cli.loop")
async def loop(turn: int) -> int:
    if turn < 2:
        tether.continue_as_new(turn + 1)
    return turn


@tether.activity(
    name="cli.flaky",
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1)),
)
async def flaky(job: str) -> str:
    if tether.context().attempt == 1:
        raise ConnectionError("the first attempt lost its connection")
    return f"{job} on attempt {tether.context().attempt}"


@tether.workflow(name="cli.flaky_job")
async def flaky_job(job: str) -> str:
    return await flaky(job)
