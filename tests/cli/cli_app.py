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


def hand_out(text: str, kind: str = "token", *, attempt: int | str | None = None) -> None:
    """Write ``text`` where the test looks for the running attempt's ``kind`` (its token, its callback URL).

    ``attempt="activity"`` files the activity token, which is of no one attempt.
    """
    ctx = tether.context()
    folder = Path(os.environ["TETHER_TEST_TOKENS"])
    path = folder / f"{ctx.execution_id}.{ctx.attempt if attempt is None else attempt}.{kind}"
    path.with_suffix(".tmp").write_text(text)
    path.with_suffix(".tmp").rename(path)  # appears whole or not at all


def _hand_out_tokens() -> None:
    """Write this attempt's token, and the activity token, where the test reads them."""
    hand_out(tether.context().token)
    hand_out(tether.context().activity_token, attempt="activity")


@tether.activity(name="cli.request_approval", retry=tether.RetryPolicy(max_attempts=2))
async def request_approval(order: str) -> Approval:
    _hand_out_tokens()
    return tether.make_async()


@tether.activity(name="cli.request_payment")
async def request_payment(order: str) -> Approval:
    hand_out(tether.context().callback_url(), "url")  # the webhook a payment provider will call
    return tether.make_async()


@tether.workflow(name="cli.pay")
async def pay(order_id: str) -> str:
    approval = await request_payment(order_id)
    return f"{order_id} paid, approved by {approval.by}"


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


class Note(pydantic.BaseModel):
    text: str


@tether.workflow(name="cli.desk", messages={"note": Note})
async def desk() -> list[str]:
    notes = [(await tether.receive("note")).text]
    while True:
        request = await tether.receive_request("ask")
        if request.payload == "no":
            request.reject("asked to refuse")
            continue
        request.reply({"notes": notes, "asked": request.payload})
        return notes


@tether.workflow(name="cli.progress")
async def progress(order_id: str) -> str:
    tether.publish("stage", "waiting for approval")
    approval = await request_approval(order_id)
    tether.publish("stage", f"approved by {approval.by}")
    return approval.by
