"""The order workflow and its activities: reserve stock, wait for a person's approval, charge, dispatch."""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

import tether
from examples.orders.review_queue import ReviewQueue

REVIEW_HEARTBEAT = timedelta(seconds=float(os.environ.get("TETHER_DEMO_HEARTBEAT_SECONDS", "5")))
"""The longest a review may go without a heartbeat; short in the embedded demo, so a silent reviewer is retried
quickly, and long behind the server demo, whose heartbeats come from a person typing commands."""

COOLING_OFF = timedelta(seconds=2)
"""How long a charged order waits before dispatch (a durable timer on the real clock)."""


class Approval(BaseModel):
    """What a reviewer sends back, by token, from another process."""

    by: str
    note: str


class OrderSummary(BaseModel):
    """The result of one order."""

    order_id: str
    reservation: str
    approved_by: str
    approval_note: str
    receipt: str
    review_updates_seen: int
    """Progress reports of the review that the workflow observed (fast ones are coalesced)."""
    dispatched_at: datetime


_queue: ReviewQueue | None = None


def use_queue(queue: ReviewQueue) -> None:
    """Tell request_approval where to send review requests (the demo calls this before starting its worker)."""
    global _queue
    _queue = queue


@tether.activity(timeout=timedelta(seconds=30))
def reserve_stock(order_id: str) -> str:
    """Reserve the goods (a sync activity: it runs in the worker's thread pool)."""
    return f"R-{_short(tether.context().idempotency_key)}"


@tether.activity(
    timeout=timedelta(minutes=2),
    heartbeat=REVIEW_HEARTBEAT,
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1), non_retryable=["Rejected"]),
)
async def request_approval(order_id: str, amount: float) -> Approval:
    """Ask a person to approve the order; the answer comes later, by token, from the reviewer process.

    Each attempt puts a fresh token on the queue. A retried attempt carries the last heartbeat
    of the failed one as its checkpoint, so the reviewer resumes where it stopped.
    """
    queue = _queue or _queue_from_environment()
    ctx = tether.context()
    message = {
        "token": ctx.token,
        "order_id": order_id,
        "amount": amount,
        "attempt": ctx.attempt,
        "checkpoint": ctx.checkpoint,
    }
    await asyncio.to_thread(queue.put, message)
    return tether.make_async()


@tether.activity(timeout=timedelta(seconds=30), retry=tether.RetryPolicy(max_attempts=5))
def charge_payment(order_id: str, amount: float) -> str:
    """Charge the customer; the idempotency key is the same on every attempt, so a retry never charges twice."""
    return f"P-{_short(tether.context().idempotency_key)}"


@tether.workflow
async def fulfil_order(order_id: str, amount: float) -> OrderSummary:
    """Reserve, get approval (watching the reviewer's progress), charge, cool off, dispatch."""
    reservation = await reserve_stock(order_id)

    updates: list[Any] = []
    review = tether.start_activity(request_approval, order_id, amount)
    review.on_heartbeat(updates.append)
    approval: Approval = await review

    receipt = await charge_payment(order_id, amount)
    await tether.sleep(COOLING_OFF)
    return OrderSummary(
        order_id=order_id,
        reservation=reservation,
        approved_by=approval.by,
        approval_note=approval.note,
        receipt=receipt,
        review_updates_seen=len(updates),
        dispatched_at=tether.now(),
    )


def _queue_from_environment() -> ReviewQueue:
    """The queue a worker started by ``tether worker``/``tether server --worker`` uses: TETHER_DEMO_QUEUE names it."""
    path = os.environ.get("TETHER_DEMO_QUEUE")
    if path is None:
        raise RuntimeError("set TETHER_DEMO_QUEUE to the review queue's file, or call use_queue() first")
    return ReviewQueue(path)


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]
