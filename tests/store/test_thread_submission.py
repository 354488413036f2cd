"""Transitions submitted from threads other than the event loop's (``ThreadedStore``, optional for a backend)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from tether.errors import StoreUnavailable
from tether.store.base import Store, ThreadedStore, Transaction
from tether.store.rows import ExecutionRow

from .test_store_contract import execution, get, held_busy


class Boom(Exception):
    """Raised by a transition on purpose."""


class Callback:
    """Records the call of a ``done`` callback and the thread it came on."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.calls = 0
        self.result: object = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __call__(self, result: object, error: BaseException | None) -> None:
        self.result, self.error, self.thread = result, error, threading.current_thread()
        self.calls += 1
        self.called.set()


def threaded(store: Store) -> ThreadedStore:
    if not isinstance(store, ThreadedStore):
        pytest.skip("this store takes transitions from the event loop only")
    return store


def inserting(row: ExecutionRow) -> Callable[[Transaction], str]:
    def transition(tx: Transaction) -> str:
        tx.insert_execution(row)
        return row.id

    return transition


async def test_idle_store_runs_a_thread_transition_on_that_thread_before_returning(store: Store) -> None:
    submitter = threaded(store)
    done = Callback()

    def submit() -> threading.Thread:
        submitter.run_in_thread(inserting(execution("e1")), done)
        assert done.called.is_set()
        return threading.current_thread()

    here = await asyncio.to_thread(submit)
    assert done.thread is here
    assert (done.result, done.error) == ("e1", None)
    assert await get(store, "e1") == execution("e1")


async def test_failing_thread_transition_calls_back_with_its_error_and_writes_nothing(store: Store) -> None:
    submitter = threaded(store)
    done = Callback()

    def transition(tx: Transaction) -> None:
        tx.insert_execution(execution("e1"))
        raise Boom("no")

    await asyncio.to_thread(submitter.run_in_thread, transition, done)
    assert done.called.is_set()
    assert done.result is None
    assert isinstance(done.error, Boom)
    assert await get(store, "e1") is None


async def test_thread_transition_queued_behind_a_batch_is_called_back_after_that_batch(store: Store) -> None:
    submitter = threaded(store)
    entered, gate = threading.Event(), threading.Event()
    done = Callback()

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(5)

    holder = asyncio.ensure_future(store.run(hold))
    assert await asyncio.to_thread(entered.wait, 5)

    def submit() -> threading.Thread:
        submitter.run_in_thread(inserting(execution("e1")), done)
        return threading.current_thread()

    submitted_on = await asyncio.to_thread(submit)
    assert not done.called.is_set()
    gate.set()
    await holder
    assert await asyncio.to_thread(done.called.wait, 5)
    assert done.thread is not submitted_on
    assert (done.result, done.error) == ("e1", None)


async def test_thread_and_loop_transitions_run_in_the_order_they_were_submitted(store: Store) -> None:
    submitter = threaded(store)
    entered, gate = threading.Event(), threading.Event()
    order: list[str] = []

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(5)

    def mark(name: str) -> Callable[[Transaction], None]:
        return lambda tx: order.append(name)

    holder = asyncio.ensure_future(store.run(hold))
    assert await asyncio.to_thread(entered.wait, 5)
    first = asyncio.ensure_future(store.run(mark("loop 1")))
    await asyncio.sleep(0)  # one loop pass: the task queues its transition
    done = Callback()
    await asyncio.to_thread(submitter.run_in_thread, mark("thread"), done)
    last = asyncio.ensure_future(store.run(mark("loop 2")))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(holder, first, last)
    assert await asyncio.to_thread(done.called.wait, 5)
    assert order == ["loop 1", "thread", "loop 2"]


async def test_thread_transition_after_close_raises_store_unavailable_without_calling_back(store: Store) -> None:
    submitter = threaded(store)
    await store.close()
    done = Callback()
    with pytest.raises(StoreUnavailable):
        await asyncio.to_thread(submitter.run_in_thread, lambda tx: None, done)
    assert not done.called.is_set()


async def test_thread_transitions_queued_when_the_store_closes_still_commit(store: Store) -> None:
    submitter = threaded(store)
    holder, gate = await held_busy(store)
    callbacks = [Callback(), Callback()]
    for i, done in enumerate(callbacks):
        await asyncio.to_thread(submitter.run_in_thread, inserting(execution(f"e{i}")), done)
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0)  # one loop pass: the close has begun, and takes nothing more
    with pytest.raises(StoreUnavailable):
        await asyncio.to_thread(submitter.run_in_thread, inserting(execution("late")), Callback())
    gate.set()
    await holder
    await closing
    assert [(done.calls, done.result, done.error) for done in callbacks] == [(1, "e0", None), (1, "e1", None)]
