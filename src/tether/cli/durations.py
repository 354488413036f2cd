"""Durations given on the command line: ``30d``, ``12h``, ``90m``, ``45s``, ``2w``, or several (``1d12h``)."""

from __future__ import annotations

import re
from datetime import timedelta

import typer

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1),
          "s": timedelta(seconds=1)}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")


def parse(text: str) -> timedelta:
    """The duration ``text`` spells.

    Raises:
        typer.BadParameter: it is not a positive duration in those units.
    """
    spelled = text.strip().lower()
    parts = _PART.findall(spelled)
    if not parts or "".join(number + unit for number, unit in parts) != spelled:
        raise typer.BadParameter(f"{text!r} is not a duration; write e.g. 30d, 12h, 90m, 45s or 1d12h")
    total = sum((float(number) * _UNITS[unit] for number, unit in parts), timedelta())
    if total <= timedelta(0):
        raise typer.BadParameter(f"{text!r} is not a positive duration")
    return total
