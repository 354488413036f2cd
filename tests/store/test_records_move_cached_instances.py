"""A transition moves the local worker's cached instances past the records it appended, and past nothing else.

Records (an attempt started, went async, failed and will be retried) give the workflow no
task; input events (a message, an activity's end) always do. Only an instance that had seen
every event before the records is moved, and it is moved back if the transition rolls back.
"""

from __future__ import annotations

import pytest

from tether.engine import dispatch
from tether.model.events import EventType
from tether.model.tokens import ActivityClaims, TokenClaims
from tether.store.base import Store, Transaction

from .test_store_contract import Boom, execution, insert


def local_worker(cached_seq: dict[str, int], moved: list[tuple[str, int, int]]) -> dispatch.LocalWorker:
    """A worker that serves no workflow (so a queued task stays queued) and notes each move of its instances."""

    def advance(execution_id: str, seen: int, to: int) -> None:
        moved.append((execution_id, seen, to))
        if cached_seq.get(execution_id) == seen:
            cached_seq[execution_id] = to

    return dispatch.LocalWorker(
        owner="w1",
        workflows=frozenset(),
        activities=frozenset(),
        lease_ms=1_000,
        cached_seq=cached_seq,
        reserve_slot=lambda: False,
        release_slot=lambda: None,
        take_cached=lambda execution_id: None,
        accept=lambda pushed: None,
        advance_cached=advance,
    )


def no_signing(tx: Transaction, claims: TokenClaims | ActivityClaims, now_ms: int) -> str:
    raise AssertionError("nothing here starts an attempt")


async def test_an_instance_moves_past_records_but_not_past_input_events_or_events_it_lacked(store: Store) -> None:
    await insert(store, execution("records"), execution("input"), execution("behind"))
    await store.run(lambda tx: tx.append_events("behind", [(EventType.WORKFLOW_STARTED, "{}")], 1))
    cached_seq = {"records": 0, "input": 0, "behind": 0}
    moved: list[tuple[str, int, int]] = []
    worker = local_worker(cached_seq, moved)

    def transition(tx: Transaction) -> dict[str, int]:
        tx.append_events("records", [(EventType.ACTIVITY_ATTEMPT_STARTED, "{}")], 2)
        tx.append_events("records", [(EventType.ACTIVITY_WENT_ASYNC, "{}")], 2)
        tx.append_events("input", [(EventType.MESSAGE_SENT, "{}")], 2)
        tx.enqueue_workflow_task("input", 2)
        tx.append_events("behind", [(EventType.ACTIVITY_WENT_ASYNC, "{}")], 2)  # it had not seen seq 1
        appended = dict(tx.appended_from())
        dispatch.push(tx, worker, 2, no_signing)
        return appended

    assert await store.run(transition) == {"records": 1, "input": 1, "behind": 2}
    assert moved == [("records", 0, 2)]
    assert cached_seq == {"records": 2, "input": 0, "behind": 0}


async def test_an_instance_moved_by_a_transition_that_rolls_back_is_moved_back(store: Store) -> None:
    await insert(store, execution("records"))
    cached_seq = {"records": 0}
    moved: list[tuple[str, int, int]] = []
    worker = local_worker(cached_seq, moved)

    def transition(tx: Transaction) -> None:
        tx.append_events("records", [(EventType.ACTIVITY_WENT_ASYNC, "{}")], 2)
        dispatch.push(tx, worker, 2, no_signing)
        raise Boom

    with pytest.raises(Boom):
        await store.run(transition)
    assert moved == [("records", 0, 1), ("records", 1, 0)]
    assert cached_seq == {"records": 0}
