"""Clocks: where every part of tether reads the time, so tests can own it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


def to_ms(value: datetime) -> int:
    """Integer UTC milliseconds of ``value`` (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of integer milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def duration_ms(value: timedelta | float | int) -> int:
    """Milliseconds of a duration given as a timedelta or as seconds."""
    if isinstance(value, timedelta):
        return int(value.total_seconds() * 1000)
    return int(value * 1000)


class Clock(Protocol):
    """The source of time for the engine and workers.

    ``now_ms`` may be called from any thread; ``sleep_until`` only from the event loop.
    """

    def now_ms(self) -> int:
        """The current time as integer UTC milliseconds."""
        ...

    async def sleep_until(self, deadline_ms: int) -> None:
        """Return once the clock has reached ``deadline_ms``."""
        ...


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        """The current wall-clock time in UTC milliseconds."""
        return time.time_ns() // 1_000_000

    async def sleep_until(self, deadline_ms: int) -> None:
        """Sleep on the event loop until the wall clock reaches ``deadline_ms``."""
        delay = (deadline_ms - self.now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """A clock that moves only when told to, for tests.

    ``advance`` wakes every sleeper whose deadline has passed; nothing waits on the wall
    clock, so a day-long timeout is tested in milliseconds.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now_ms = to_ms(start or datetime(2026, 1, 1, tzinfo=UTC))
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def now_ms(self) -> int:
        """The virtual time in UTC milliseconds."""
        return self._now_ms

    def now(self) -> datetime:
        """The virtual time as an aware UTC datetime."""
        return from_ms(self._now_ms)

    async def sleep_until(self, deadline_ms: int) -> None:
        """Wait until the virtual clock is advanced to ``deadline_ms``."""
        if deadline_ms <= self._now_ms:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline_ms, next(self._counter), future))
        await future

    def advance(self, delta: timedelta | float) -> None:
        """Move time forward by ``delta`` (a timedelta or seconds) and wake due sleepers."""
        self.advance_to(self._now_ms + duration_ms(delta))

    def advance_to(self, target_ms: int) -> None:
        """Move time forward to ``target_ms``; moving backwards is ignored."""
        if target_ms > self._now_ms:
            self._now_ms = target_ms
        while self._sleepers and self._sleepers[0][0] <= self._now_ms:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
