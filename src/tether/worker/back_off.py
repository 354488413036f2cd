"""How long a worker waits before it tries a store that failed again.

The waits are on the wall clock: they pace retries against a real outage, which a
virtual test clock does not end.
"""

from __future__ import annotations

FIRST_S = 0.05
LONGEST_S = 5.0


def delay(failures: int) -> float:
    """The wait after ``failures`` failures in a row (1 or more): doubled each time, up to :data:`LONGEST_S`."""
    return min(FIRST_S * (1 << min(max(failures, 1) - 1, 16)), LONGEST_S)
