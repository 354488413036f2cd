"""Type checks of the public API (mypy only; nothing here runs).

Expected misuse is marked with ``type: ignore[code]``: mypy's warn_unused_ignores makes a
check that stops catching the misuse fail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, assert_type

import pydantic

import tether


class Approval(pydantic.BaseModel):
    by: str


@tether.activity
def charge(order: str, amount: int) -> int:
    return amount


@tether.activity(name="typing.approve", heartbeat=timedelta(seconds=20), retry=tether.RetryPolicy(max_attempts=5))
async def approve(order: str) -> Approval:
    return tether.make_async()


@tether.workflow
async def fulfil(order: str, amount: int) -> str:
    charged = await charge(order, amount)
    assert_type(charged, int)
    handle = tether.start_activity(approve, order)
    assert_type(handle, tether.ActivityHandle[Approval])
    approval = await handle
    assert_type(approval, Approval)
    await tether.sleep(timedelta(days=1))
    await tether.sleep(5)
    assert_type(tether.now().year, int)
    await charge(order, "ten")  # type: ignore[arg-type]
    return approval.by


@tether.workflow(name="typing.named")
async def named() -> None:
    return None


@tether.workflow(timeout=timedelta(days=30))
async def bounded(order: str) -> int:
    return len(order)


async def client_side(client: tether.Client, token: str) -> None:
    handle = await client.start_workflow(fulfil, "A-1", 10, id="order-A-1")
    assert_type(handle, tether.WorkflowHandle[str])
    assert_type(await handle.result(), str)
    by_name = await client.start_workflow("fulfil", "A-1", 10)
    assert_type(by_name, tether.WorkflowHandle[Any])
    wrong: tether.WorkflowHandle[int] = await client.start_workflow(fulfil, "A-1", 10)  # type: ignore[arg-type, call-arg]
    assert_type(wrong, tether.WorkflowHandle[int])
    await client.start_workflow(fulfil, "A-1")  # type: ignore[arg-type]
    response = await client.heartbeat_activity(token, details={"i": 40})
    assert_type(response.cancel_requested, bool)
    await client.complete_activity(token, Approval(by="ana"))
    info = await client.describe("order-A-1")
    assert_type(info.status, tether.WorkflowStatus)
    assert_type(named, tether.Workflow[[], None])
    timed = await client.start_workflow(bounded, "A-2", timeout=timedelta(days=2))
    assert_type(timed, tether.WorkflowHandle[int])
    await client.start_workflow(bounded, "A-3", timeout=3600.0)
    await client.start_workflow(bounded, "A-4", timeout="1d")  # type: ignore[call-overload]
    assert_type(await client.resume("order-A-1"), None)
    await client.resume("order-A-1", timeout=timedelta(hours=1))
    await client.resume("order-A-1", 60)  # type: ignore[call-arg]


def activity_side() -> None:
    ctx = tether.context()
    assert_type(ctx.attempt, int)
    assert_type(ctx.token, str)
