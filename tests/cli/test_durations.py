"""Durations on the command line (``--retention 30d``): what is read, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer

from tether.cli import durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 45S ", timedelta(seconds=45)),
    ],
)
def test_a_duration_is_read_in_its_units(text: str, expected: timedelta) -> None:
    assert durations.parse(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "thirty days", "-1d", "0s", "1d 2h", "1y"])
def test_what_is_no_positive_duration_is_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        durations.parse(text)
