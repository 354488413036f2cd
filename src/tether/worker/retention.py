"""Retention: a worker deletes closed executions older than its retention period, a batch at a time.

Each batch is one short transition (``Engine.delete_expired``), so a backlog of millions is
worked through without ever holding the store for long; between sweeps the loop sleeps on
the injected clock, so tests drive it with the virtual clock. Several workers on one store
may sweep at once: an execution one of them deleted is passed over by the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from tether.engine.engine import Engine
from tether.engine.lifecycle_calls import RETENTION_BATCH
from tether.model.clock import Clock

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_MS = 60_000
"""How often (on the engine's clock) a worker looks for expired executions once none are left."""


class Sweep:
    """The retention loop of one worker.

    Args:
        park: tells the worker what the loop waits for (see ``Worker._park``): it is idle
            until its next sweep falls due.
    """

    def __init__(
        self, engine: Engine, retention_ms: int, park: Callable[[str, Callable[[], bool] | None], None]
    ) -> None:
        self._engine = engine
        self._retention_ms = retention_ms
        self._park = park

    async def run(self) -> None:
        """Sweep now and then every :data:`SWEEP_INTERVAL_MS`, until cancelled."""
        clock = self._engine.clock
        while True:
            deleted = await self._engine.delete_expired(self._retention_ms, RETENTION_BATCH)
            if deleted:
                logger.info("retention deleted %d closed execution(s)", deleted)
            if deleted >= RETENTION_BATCH:
                await asyncio.sleep(0)  # more are due: the next batch, after whatever else waits
                continue
            due = clock.now_ms() + SWEEP_INTERVAL_MS
            self._park("retention", functools.partial(_before, clock, due))
            try:
                await clock.sleep_until(due)
            finally:
                self._park("retention", None)


def _before(clock: Clock, due_ms: int) -> bool:
    return clock.now_ms() < due_ms
