"""The attempts a worker runs: whose activity code still runs, whose outcome is being recorded, and their slots.

An attempt holds one of the worker's activity slots from its start until its outcome
has been handled. Attempts are added and ended on the event loop (async ones) and on
the worker's threads (sync ones), so every change takes a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tether.engine.activities import AttemptStart


@dataclass(eq=False, slots=True)
class Running:
    """One attempt the worker runs."""

    start: AttemptStart
    reporting: bool = False
    """Its activity code has returned (or raised): its outcome is being recorded."""


class RunningAttempts:
    """The attempts of one worker, from their start until their outcome was handled.

    Args:
        release_slot: gives back an attempt's slot (thread-safe).
        settled: called (from any thread) when the last outcome under way was handled or
            the last attempt ended, for whoever waits for the worker to settle.
    """

    def __init__(self, release_slot: Callable[[], None], settled: Callable[[], None]) -> None:
        self._release_slot = release_slot
        self._settled = settled
        self._lock = threading.Lock()
        self._attempts: set[Running] = set()
        self._reporting = 0

    @property
    def running(self) -> int:
        """Attempts started and not yet ended, their code running or their outcome under way."""
        return len(self._attempts)

    @property
    def reporting(self) -> int:
        """Attempts whose outcome is being recorded."""
        return self._reporting

    def add(self, start: AttemptStart) -> Running:
        """Count an attempt that holds a slot and is about to run; from any thread."""
        attempt = Running(start)
        with self._lock:
            self._attempts.add(attempt)
        return attempt

    def report(self, attempt: Running) -> None:
        """The attempt's code has ended: its outcome is recorded next; from any thread."""
        with self._lock:
            if attempt in self._attempts and not attempt.reporting:
                attempt.reporting = True
                self._reporting += 1

    def end(self, attempt: Running) -> None:
        """The attempt's outcome was handled (or dropped): give back its slot; from any thread."""
        with self._lock:
            if attempt not in self._attempts:
                return  # ended already
            self._attempts.discard(attempt)
            if attempt.reporting:
                self._reporting -= 1
            settled = self._reporting == 0
        self._release_slot()
        if settled:
            self._settled()
