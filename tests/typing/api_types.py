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
    await client.terminate("order-A-1", reason="stuck")
    await client.terminate("order-A-1", "stuck")  # type: ignore[call-arg]  # the reason is keyword-only
    assert_type(await client.retry_activity_now("order-A-1", 2), int)
    await client.delete("order-A-1")
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
    assert_type(ctx.callback_url(), str)
    assert_type(ctx.callback_url("fail", expires=timedelta(days=7)), str)
    ctx.callback_url(expires=3600)
    ctx.callback_url("heartbeat")  # type: ignore[arg-type]  # only "complete" and "fail"
    ctx.callback_url("fail", timedelta(days=1))  # type: ignore[call-arg]  # expires is keyword-only


async def changing_code(client: tether.Client) -> None:
    assert_type(tether.patched("charge-v2"), bool)
    tether.deprecate_patch("charge-v2")
    tether.patched(2)  # type: ignore[arg-type]  # a patch id is a string
    tether.testing.replay(fulfil, await client.history("order-1"))
    tether.testing.replay(fulfil, "tests/histories/order-1.json")
    tether.testing.replay(charge, "order-1.json")  # type: ignore[arg-type]  # an activity, not a workflow


async def published_values(client: tether.Client) -> None:
    assert_type(tether.publish("progress", {"done": 3, "of": 10}), None)
    tether.publish(3, "x")  # type: ignore[arg-type]  # a name is a string
    progress = await client.published("order-1", "progress", after=2, wait=timedelta(seconds=30))
    assert_type(progress, tether.Published)
    assert_type(progress.version, int)
    await client.published("order-1", "progress", 2)  # type: ignore[call-arg]  # after and wait are keyword-only
    listed = (await client.describe("order-1")).published
    assert_type(listed, list[tether.PublishedValue])


@tether.activity(name="typing.announce", notify=["https://hooks.example.com/a", "https://hooks.example.com/b"])
async def announce(order: str) -> str:
    tether.context().notify("https://hooks.example.com/c", data={"order": order})
    tether.context().notify(3)  # type: ignore[arg-type]  # a URL is a string
    return tether.make_async()


@tether.activity(name="typing.announce_one", notify="https://hooks.example.com/a")
def announce_one(order: str) -> str:
    return order


def notifications_out(body: bytes, header: str) -> None:
    assert_type(announce_one.options.notify, tuple[str, ...])
    assert_type(tether.verify_notification(body, header, "whsec_1", tolerance=300), dict[str, Any])
    tether.verify_notification(body, header, "whsec_1", 300)  # type: ignore[call-arg]  # tolerance is keyword-only


async def schedules(client: tether.Client) -> None:
    made = await client.create_schedule("weekly", "typing.report", "ops", cron="0 9 * * MON", timezone="Europe/Berlin")
    assert_type(made, tether.ScheduleInfo)
    assert_type(made.recent, list[tether.ScheduleFire])
    assert_type(await client.trigger_schedule("weekly"), tether.WorkflowHandle[Any])
    assert_type(await client.list_schedules(), list[tether.ScheduleInfo])
    await client.create_schedule("s", "typing.report", cron="* * * * *", overlap="queue")  # type: ignore[arg-type]
    await client.create_schedule("s", "typing.report", "* * * * *")  # type: ignore[call-arg]  # cron is keyword-only
