"""How a store hands a finished batch of transitions back to the event loop.

Both stores run transitions off the event loop and group them into batches that share a
commit; what happens after the commit is the same for both: after-commit hooks first,
then the callers' futures, then the change listener, all in one wake-up of the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

logger = logging.getLogger("tether.store")


class SettledJob(Protocol):
    """A transition whose outcome is known: ``(True, value)`` or ``(False, exception)``."""

    @property
    def future(self) -> asyncio.Future[Any] | None:
        """The caller's future on the event loop; None when nobody there awaits it."""

    @property
    def outcome(self) -> tuple[bool, Any]:
        """What the transition returned or raised."""


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
