"""Type checks of closing an activity with ``activity=`` (mypy only; nothing here runs).

Given the activity, mypy checks the result against its declared return type, and heartbeat
details against its declared checkpoint type. Each expected misuse is marked with
``type: ignore[code]``: warn_unused_ignores makes a check that stops catching it fail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, assert_type

import pydantic

import tether


class Approval(pydantic.BaseModel):
    by: str


class Progress(pydantic.BaseModel):
    reviewed: int


@tether.activity(retry=tether.RetryPolicy(max_attempts=5))
async def request_approval(order: str) -> Approval:
    return tether.make_async()


@tether.activity(heartbeat=timedelta(seconds=20), checkpoint=Progress)
async def review(order: str) -> list[int]:
    return tether.make_async()


@tether.activity
def count(order: str) -> int:
    return len(order)


def declared_types() -> None:
    approval: tether.Activity[[str], Approval] = request_approval
    approval_any: tether.Activity[[str], Approval, Any] = request_approval
    reviewing: tether.Activity[[str], list[int], Progress] = review
    counting: tether.Activity[[str], int] = count
    wrong_result: tether.Activity[[str], str] = count  # type: ignore[assignment]
    wrong_checkpoint: tether.Activity[[str], list[int], int] = review  # type: ignore[assignment]
    assert_type(reviewing.checkpoint_type, Any)
    del approval, approval_any, counting, wrong_result, wrong_checkpoint


async def typed_completions(client: tether.Client, token: str) -> None:
    assert_type(await client.complete_activity(token, Approval(by="ana"), activity=request_approval), bool)
    await client.complete_activity(token, [1, 2], activity=review)
    await client.complete_activity(token, 3, activity=count)
    await client.complete_activity(token, "approved", activity=request_approval)  # type: ignore[misc]
    await client.complete_activity(token, {"by": "ana"}, activity=request_approval)  # type: ignore[misc]
    await client.complete_activity(token, ["1"], activity=review)  # type: ignore[misc]
    await client.complete_activity(token, "3", activity=count)  # type: ignore[misc]
    await client.complete_activity(token, {"by": "ana"})  # untyped: any JSON value, checked by the server
    await client.complete_activity(token, {"by": "ana"}, activity="request_approval")  # a name: checked at run time
    await client.complete_activity(token, Approval(by="ana"), activity=42)  # type: ignore[call-overload]


async def typed_heartbeats(client: tether.Client, token: str) -> None:
    reply = await client.heartbeat_activity(token, Progress(reviewed=2), activity=review)
    assert_type(reply, tether.HeartbeatResponse)
    await client.heartbeat_activity(token, activity=review)  # no details: allowed
    await client.heartbeat_activity(token, {"reviewed": 2}, activity=review)  # type: ignore[misc]
    await client.heartbeat_activity(token, "half way", activity=review)  # type: ignore[misc]
    await client.heartbeat_activity(token, {"anything": [1]}, activity=request_approval)  # no checkpoint type declared
    await client.heartbeat_activity(token, {"anything": [1]})
