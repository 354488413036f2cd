"""Durations on the command line: ``30d``, ``12h``, ``1h30m``, ``90s``, ``500ms`` or plain seconds."""

from __future__ import annotations

from datetime import timedelta

import typer

from tether.model import durations


def parse(text: str) -> timedelta:
    """The duration ``text`` names; a positive one.

    Raises:
        typer.BadParameter: it is not a duration or not positive.
    """
    try:
        return durations.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
