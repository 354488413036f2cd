"""How the benchmarks turn timings into figures."""

from __future__ import annotations

import uuid

RUN = uuid.uuid4().hex[:8]
"""Tags a run's workflow ids: a run on a database an earlier run used starts workflows of its own."""


def percentile_ms(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of samples in seconds, in milliseconds rounded to the microsecond."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 3)
