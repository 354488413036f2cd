"""How a store hands a finished batch of transitions back to the event loop.

Both stores run transitions off the event loop and group them into batches that share a
commit; what happens after the commit is the same for both: after-commit hooks first,
then the callers' futures, then the change listener, all in one wake-up of the loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from tether.errors import StoreUnavailable
from tether.store.base import TouchesAhead, Transaction

T = TypeVar("T")

logger = logging.getLogger("tether.store")


class SettledJob(Protocol):
    """A transition whose outcome is known: ``(True, value)`` or ``(False, exception)``."""

    @property
    def future(self) -> asyncio.Future[Any] | None:
        """The caller's future on the event loop; None when nobody there awaits it."""

    @property
    def outcome(self) -> tuple[bool, Any]:
        """What the transition returned or raised."""


class FinishedJob(SettledJob, Protocol):
    """A job of a batch that ran: from the event loop (a future), or from another thread (a callback)."""

    @property
    def done(self) -> Callable[[Any, BaseException | None], None] | None:
        """For a job from another thread: called with the outcome on the thread that ran the batch."""

    finished: bool
    """Set once the job's outcome is handed over (a thread that submitted it reads it after its batch)."""


def hand_over(
    loop: asyncio.AbstractEventLoop,
    batch: Sequence[FinishedJob],
    hooks: list[Callable[[], None]],
    listener: Callable[[set[str]], None] | None,
    changes: set[str],
) -> None:
    """After a batch's commit, on the thread that ran it: hand each job's outcome to its caller.

    Jobs from threads are called back here; the event loop is woken once for the rest: hooks,
    then results, then ``listener`` if anything changed.
    """
    waiting = [job for job in batch if job.future is not None]
    for job in batch:
        job.finished = True
        if job.done is not None:
            ok, value = job.outcome
            try:
                job.done(value, None) if ok else job.done(None, value)
            except Exception:
                logger.exception("completion callback failed")
    if waiting or hooks or changes:
        loop.call_soon_threadsafe(finish_batch, hooks, waiting, listener if changes else None, changes)


def run_all(callbacks: list[Callable[[], None]], what: str) -> None:
    """Call every callback even if some raise; a failing one is logged as ``what``."""
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("%s failed", what)


def finish_batch(
    hooks: list[Callable[[], None]],
    batch: Sequence[SettledJob],
    listener: Callable[[set[str]], None] | None,
    changes: set[str],
) -> None:
    """On the event loop, after a batch's commit: hooks, then results, then the listener."""
    # Hooks run before callers resume, so work pushed to a local worker is in flight
    # by the time anyone looks at the result of this batch.
    run_all(hooks, "after-commit hook")
    for job in batch:
        settle(job)
    if listener is not None:
        listener(changes)


def settle(job: SettledJob) -> None:
    """Hand a job's outcome to its caller, unless the caller has gone (cancelled)."""
    future = job.future
    if future is None or future.done():
        return
    ok, value = job.outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def resolve(future: asyncio.Future[None], value: None) -> None:
    """Set a future's result unless it is already done (its awaiter gave up)."""
    if not future.done():
        future.set_result(value)


def fail(future: asyncio.Future[None], error: BaseException) -> None:
    """Set a future's exception unless it is already done (its awaiter gave up)."""
    if not future.done():
        future.set_exception(error)


class ThreadSubmission:
    """How both stores take a transition from a thread other than the event loop's.

    The job joins the queue; if no batch is under way (the writing lock is free), the
    submitting thread runs one itself, its own job and any queued before it, so that its
    callback is called before it returns; otherwise, or if its job is left for a later batch,
    the store's thread is woken to take it from there.
    """

    _jobs: collections.deque[Any]
    _mutex: threading.Lock
    _arrived: threading.Condition
    _writing: threading.Lock
    _closed: bool
    _stopping: bool

    def _write_batch(self) -> None:
        """Run the jobs at the front of the queue as one batch; the caller holds the writing lock."""
        raise NotImplementedError

    def _thread_job(
        self,
        transition: Callable[[Transaction], Any],
        done: Callable[[Any, BaseException | None], None],
        touches: TouchesAhead | None,
    ) -> FinishedJob:
        """The store's job for a transition from another thread, called back with ``done``."""
        raise NotImplementedError

    def run_in_thread(
        self,
        transition: Callable[[Transaction], T],
        done: Callable[[T | None, BaseException | None], None],
        *,
        touches: TouchesAhead | None = None,
    ) -> None:
        """Run a writing transition submitted from a thread other than the event loop's (see ``ThreadedStore``).

        If no batch is under way, the calling thread runs one itself (its own job and any
        queued before it) and ``done`` is called before this returns; otherwise the job
        joins the queue and ``done`` is called on the thread that runs it, after its commit.

        Raises:
            StoreUnavailable: the store is closed (``done`` is not called).
        """
        job = self._thread_job(transition, done, touches)
        with self._mutex:
            if self._closed or self._stopping:
                raise StoreUnavailable("the store is closed")
            self._jobs.append(job)
            combine = self._writing.acquire(blocking=False)
        if combine:
            try:
                self._write_batch()
            finally:
                self._writing.release()
            if job.finished:
                return
        # A long queue, or a job to run again: the store's thread takes it from here.
        with self._arrived:
            self._arrived.notify()
