"""Flow control of one activity type across every worker on a store: attempts at once, starts per window."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tether.errors import UsageError

_PERIODS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(s|m|h)\s*")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` attempt starts in any ``period_ms`` (a sliding window, not a fixed one)."""

    count: int
    period_ms: int


@dataclass(frozen=True, slots=True)
class FlowLimit:
    """The limits of one activity type, as its workers enforce them together through the store."""

    max_concurrent: int | None
    """Attempts running their code at once, across workers; None: no bound."""
    rate: RateLimit | None
    """Attempt starts per window, across workers; None: no bound."""


def parse_rate(text: object, *, activity: str) -> RateLimit:
    """The rate limit ``text`` names: ``"10/s"``, ``"100/m"`` or ``"1000/h"``.

    Raises:
        UsageError: ``text`` is not a positive count, a slash and one of s, m, h.
    """
    match = _RATE.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) < 1:
        raise UsageError(
            f"activity {activity!r}: rate_limit={text!r} is not a rate; write a positive count per "
            'second, minute or hour, such as "10/s", "100/m" or "1000/h"'
        )
    return RateLimit(int(match.group(1)), _PERIODS_MS[match.group(2)])


def check_max_concurrent(value: object, *, activity: str) -> int | None:
    """``value`` once it is None or a positive int.

    Raises:
        UsageError: anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"activity {activity!r}: max_concurrent must be a positive int (or None), not {value!r}")
    return value


def check_priority(value: object, *, what: str) -> int | None:
    """``value`` once it is None or an int that fits the stores' INTEGER columns.

    Raises:
        UsageError: anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**31:
        raise UsageError(f"{what}: priority must be an int between -2**31 and 2**31 (or None), not {value!r}")
    return value
