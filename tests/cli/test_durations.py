"""Durations on the command line (``--timeout 30d``, ``--retention 30d``): what is read, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer

from tether.cli import durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("2w", timedelta(weeks=2)),
        ("45", timedelta(seconds=45)),
        ("1.5h", timedelta(minutes=90)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 45S ", timedelta(seconds=45)),
    ],
)
def test_a_duration_parses(text: str, expected: timedelta) -> None:
    assert durations.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "0", "-5", "0d", "5x", "d", "1d 2h", "nan", "inf", "1e300", "thirty days", "-1d", "0s", "1y"]
)
def test_what_is_not_a_positive_duration_is_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        durations.parse(text)
