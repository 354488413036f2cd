"""Durations as people type them: ``30d``, ``12h``, ``1h30m``, ``90s``, ``500ms`` or plain seconds."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_LONGEST_SECONDS = 100 * 366 * 86400
"""A century: longer durations are typos (and overflow timedelta soon after)."""
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse(text: str) -> timedelta:
    """The duration ``text`` names; a positive one.

    Raises:
        ValueError: it is not a duration or not positive (the message says what is taken).
    """
    given = text.strip().lower()
    seconds: float | None = None
    try:
        seconds = float(given)
    except ValueError:
        position, total = 0, 0.0
        for match in _PART.finditer(given):
            if match.start() != position:
                break
            total += float(match.group(1)) * _UNITS[match.group(2)]
            position = match.end()
        if position == len(given) and given:
            seconds = total
    if seconds is None or not 0 < seconds <= _LONGEST_SECONDS:
        raise ValueError(f"{text!r} is not a positive duration (examples: 30d, 12h, 1h30m, 90s, 45)")
    return timedelta(seconds=seconds)
