"""How long a worker waits before it tries a store that failed again, and the retry loop that waits so.

The waits are on the wall clock: they pace retries against a real outage, which a
virtual test clock does not end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tether import errors

T = TypeVar("T")

FIRST_S = 0.05
LONGEST_S = 5.0


def delay(failures: int) -> float:
    """The wait after ``failures`` failures in a row (1 or more): doubled each time, up to :data:`LONGEST_S`."""
    return min(FIRST_S * (1 << min(max(failures, 1) - 1, 16)), LONGEST_S)


async def retrying(
    call: Callable[[], Awaitable[T]], *, tries: int, failed: str, logger: logging.Logger, extra: dict[str, Any]
) -> T:
    """Await ``call()`` until the store takes it, at most ``tries`` times; the last StoreUnavailable is raised.

    Each failure but the last is logged as ``failed`` (a warning on ``logger``) and
    followed by a :func:`delay`. Any other error is raised at once.
    """
    for failures in range(1, tries):
        try:
            return await call()
        except errors.StoreUnavailable:
            logger.warning("%s; retrying", failed, exc_info=True, extra=extra)
            await asyncio.sleep(delay(failures))
    return await call()
