"""Activity slots of one worker, and the loop that claims queued attempts to fill them.

A slot is held by each attempt the worker runs, from its claim (or its push by the engine)
until the attempt stops running here; slots are given back from any thread. The loop
claims as many attempts as slots are free, within the activities' flow limits, and waits
for a change, for a limit's window or for a slot. Running what it claimed is the worker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence

from tether.engine.activity_starts import AttemptStart
from tether.engine.engine import Engine
from tether.model.flow_control import FlowLimit


class ActivityClaims:
    """The activity slots of one worker and its claim loop.

    Args:
        start: runs an attempt the loop claimed; it holds a slot.
        park: tells the worker what the loop waits for (see ``Worker._park``).
        unchanged: makes the test ``park`` is given: whether a topic saw no change since a
            version (and a wake-up time, if any, is still ahead).
    """

    def __init__(
        self,
        engine: Engine,
        names: Sequence[str],
        limits: Mapping[str, FlowLimit],
        *,
        identity: str,
        max_activities: int,
        start: Callable[[AttemptStart], None],
        park: Callable[[str, Callable[[], bool] | None], None],
        unchanged: Callable[[str, int, int | None], Callable[[], bool]],
    ) -> None:
        self._engine = engine
        self._names = sorted(names)
        self._limits = limits
        self._identity = identity
        self._max_activities = max_activities
        self._start = start
        self._park = park
        self._unchanged = unchanged
        self._held: frozenset[str] = frozenset()  # limited activities that could start nothing more, as last claimed
        self.retry_at_ms: int | None = None
        """When a rate limit lets the next start through, as last claimed."""
        self._slot_freed = asyncio.Event()
        self._slot_wanted = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots_lock = threading.Lock()
        self._slots_used = 0

    def startable(self) -> list[str]:
        """Names of the activities whose queued attempts would start now (slots and limits allowing)."""
        return [name for name in self._names if name not in self._held] if self.has_free_slot() else []

    def has_free_slot(self) -> bool:
        """Whether another attempt could start now."""
        return self._slots_used < self._max_activities

    def reserve_slot(self) -> bool:
        """Take a slot if one is free (from any thread)."""
        with self._slots_lock:
            if self._slots_used >= self._max_activities:
                return False
            self._slots_used += 1
            return True

    def _reserve_slots(self, wanted: int) -> int:
        with self._slots_lock:
            granted = max(0, min(wanted, self._max_activities - self._slots_used))
            self._slots_used += granted
            return granted

    def release_slot(self, count: int = 1) -> None:
        """Give back slots (from any thread) and wake the claim loop if it waits for one."""
        if count <= 0:
            return
        with self._slots_lock:
            self._slots_used -= count
            wanted, self._slot_wanted = self._slot_wanted, False  # one wake-up is enough
        if wanted and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                self._loop.call_soon_threadsafe(self._slot_freed.set)

    async def run(self) -> None:
        """Claim attempts into free slots and start them, until cancelled."""
        # Only this loop waits for a slot, so a release before it runs has nobody to wake.
        self._loop = asyncio.get_running_loop()
        notifier = self._engine.notifier
        names = self._names
        if not names:
            self._park("activities", lambda: True)
            return
        while True:
            version = notifier.topic_version("activities")
            free = self._reserve_slots(self._max_activities)
            if free > 0:
                starts: list[AttemptStart] = []
                try:
                    claimed = await self._engine.claim_attempts(names, free, self._identity, self._limits)
                    starts = claimed.starts
                finally:
                    self.release_slot(free - len(starts))
                self._held, self.retry_at_ms = claimed.held, claimed.retry_at_ms
                for start in starts:
                    self._start(start)
                if starts:
                    continue
                # Held back by a limit: a freed slot wakes the topic, a rate limit's window the clock.
                wake = claimed.retry_at_ms
                self._park("activities", self._unchanged("activities", version, wake))
                try:
                    await notifier.wait_for_change(version, self._engine.clock, wake, topic="activities")
                finally:
                    self._park("activities", None)
            else:
                self._slot_freed.clear()
                with self._slots_lock:
                    self._slot_wanted = True
                    if self._slots_used < self._max_activities:
                        self._slot_wanted = False
                        continue  # a slot came back between the two looks
                self._park("activities", lambda: not self.has_free_slot())
                try:
                    await self._slot_freed.wait()
                finally:
                    self._slot_wanted = False
                    self._park("activities", None)
