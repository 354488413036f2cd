"""Patch markers: how one workflow execution answers ``tether.patched`` the same way on every replay.

The first time a patched point runs live, a ``PatchRecorded`` command (``{"name": id}``)
goes into the task's commands and the answer is True. A replayed task answers from what it
recorded: True (and the marker again, so that replay matches) if its commands hold the
marker, False if they do not: the execution passed that point before the patch shipped.
Once decided, the answer for an id holds for the rest of the execution, so a cached
instance and one replayed from scratch answer alike. Temporal's rule (``workflow.patched``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tether.errors import UsageError
from tether.model.events import Command, Event, EventType

NAME_LIMIT = 256
"""The longest patch id, in characters."""


class Patches:
    """The patch answers of one execution, and the recorded commands of the task being replayed."""

    __slots__ = ("_decided", "_deprecated", "_recorded")

    def __init__(self) -> None:
        self._decided: dict[str, bool] = {}
        self._deprecated: set[str] = set()
        self._recorded: list[Event] | None = None
        """The recorded commands of the task being replayed; None while running live."""

    def replay(self, run: Callable[[], list[Command]], recorded: list[Event]) -> list[Command]:
        """Run a replayed task (``run``), answering from ``recorded``, the command events it recorded."""
        self._recorded = recorded
        try:
            return run()
        finally:
            self._recorded = None

    def patched(self, patch_id: str, emit: Callable[..., None]) -> bool:
        """Decide (once per execution) whether the new code path runs; ``emit`` records the marker."""
        _check(patch_id)
        decided = self._decided.get(patch_id)
        if decided is not None:
            return decided
        decided = self._recorded is None or any(_is_marker_of(e, {patch_id}) for e in self._recorded)
        self._decided[patch_id] = decided
        if decided:
            emit(EventType.PATCH_RECORDED, name=patch_id)
        return decided

    def deprecate(self, patch_id: str) -> None:
        """Accept the marker of ``patch_id`` in replayed histories without asking for it."""
        _check(patch_id)
        self._deprecated.add(patch_id)

    def comparable(self, recorded: list[Event]) -> list[Event]:
        """The recorded commands replay compares with: without the markers of deprecated patches."""
        if not self._deprecated:
            return recorded
        return [e for e in recorded if not _is_marker_of(e, self._deprecated)]


def _is_marker_of(event: Event, ids: set[str]) -> bool:
    return event.type == EventType.PATCH_RECORDED and event.data.get("name") in ids


def _check(patch_id: Any) -> None:
    if not isinstance(patch_id, str) or not patch_id or len(patch_id) > NAME_LIMIT or not patch_id.isprintable():
        raise UsageError(f"a patch id is a printable string of 1 to {NAME_LIMIT} characters, not {patch_id!r}")
