"""Claiming attempts of activity types with limits across workers: at most so many running, so many started per window.

A limited activity's attempts are claimed one activity type at a time, behind its limiter
(a row lock on PostgreSQL, the single writer on SQLite): the claimer counts the attempts
running and the starts in the window only once it holds the limiter, claims no more than
both allow, and records its starts before it lets go. Two claimers therefore never see
the same free slots.

A running attempt holds its slot by being in state ``running``: it gives it back by
returning, failing, going async or timing out, and a worker that dies gives its slots
back when its attempts are failed as lost (its lease ran out). Nothing else counts slots,
so none can leak. Such an end wakes the claimers (see ``activities.freed_slot``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tether.engine.activity_starts import AttemptStart
from tether.model.flow_control import FlowLimit
from tether.store.base import Transaction
from tether.store.rows import ActivityTaskRow

StartOne = Callable[[ActivityTaskRow], AttemptStart | None]


@dataclass(frozen=True, slots=True)
class Claimed:
    """The attempts one claim started, and what the limits held back."""

    starts: list[AttemptStart]
    held: frozenset[str]
    """Limited activity names that could start nothing more now (whatever is queued waits)."""
    retry_at_ms: int | None
    """When a rate limit lets the next start through (engine clock); None: no rate limit held anything back."""


def allowance(tx: Transaction, name: str, limit: FlowLimit, now_ms: int) -> tuple[int, int | None]:
    """How many attempts of ``name`` may start now, and when more may if a rate limit is what stops them.

    Call with the limiter held (``tx.lock_activity_limit``): what is read here then stays
    true until this transaction ends.
    """
    allowed: int | None = None
    retry_at: int | None = None
    if limit.max_concurrent is not None:
        allowed = limit.max_concurrent - tx.running_attempts(name)
    if limit.rate is not None:
        started, earliest = tx.attempt_starts_since(name, now_ms - limit.rate.period_ms)
        left = limit.rate.count - started
        if left <= 0 and earliest is not None:
            retry_at = earliest + limit.rate.period_ms  # the earliest start leaves the window then
        allowed = left if allowed is None else min(allowed, left)
    assert allowed is not None
    return max(0, allowed), retry_at


def start_limited(
    tx: Transaction, limits: Mapping[str, FlowLimit], wanted: int, now_ms: int, start_one: StartOne
) -> Claimed:
    """Start up to ``wanted`` queued attempts of the limited names, each within its limits."""
    starts: list[AttemptStart] = []
    held: set[str] = set()
    retry_at: int | None = None
    for name in sorted(limits):  # one order for every claimer: limiters are locked without deadlock
        if len(starts) >= wanted:
            break
        limit = limits[name]
        tx.lock_activity_limit(name)
        allowed, at = allowance(tx, name, limit, now_ms)
        if allowed <= 0:
            held.add(name)
            if at is not None and (retry_at is None or at < retry_at):
                retry_at = at
            continue
        started = 0
        for task in tx.claim_activity_tasks(activities=[name], limit=min(allowed, wanted - len(starts))):
            start = start_one(task)
            if start is not None:
                starts.append(start)
                started += 1
        if limit.rate is not None and started:
            tx.record_attempt_starts(name, now_ms, started, now_ms - limit.rate.period_ms)
    return Claimed(starts, frozenset(held), retry_at)
