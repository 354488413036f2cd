"""The web UI's overdue page: its filter form read the way ``tether activity list --overdue`` reads its flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tether.engine import overdue
from tether.model import durations, overdue_words

OFF = "off"


@dataclass(frozen=True, slots=True)
class Limits:
    """The page's two limits as typed (shown back in the form) and as read (None: off)."""

    waiting_text: str
    due_text: str
    waiting_longer_than: timedelta | None
    due_within: timedelta | None
    problem: str
    """Why a typed limit was not taken (its default was used instead); empty when both were."""


def limits(waiting: str | None, due: str | None) -> Limits:
    """The limits the form asks for; a field left out takes the default, ``off`` turns its criterion off."""
    problems = []
    read: list[timedelta | None] = []
    texts = []
    for text, default in ((waiting, overdue.DEFAULT_WAITING_LONGER_THAN), (due, overdue.DEFAULT_DUE_WITHIN)):
        given = (text or "").strip()
        if not given:
            given = overdue_words.span(int(default.total_seconds() * 1000))
        if given.lower() == OFF:
            read.append(None)
        else:
            try:
                read.append(durations.parse(given))
            except ValueError as exc:
                problems.append(str(exc))
                read.append(default)
        texts.append(given)
    return Limits(texts[0], texts[1], read[0], read[1], "; ".join(problems))
