"""The overdue listing's parts merged: each criterion is read on its own index, then put in one order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from tether.store.base import ActivityRow

Overdue = tuple[ActivityRow, str, int | None]
"""An overdue activity's row, its workflow name and its workflow's deadline (ms), as stores list them."""


def first(parts: Iterable[list[Overdue]], limit: int) -> list[Overdue]:
    """The first ``limit`` of the union of ``parts``, each the first ``limit`` of its criterion.

    Every part must be read in this order (waiting since, then execution id by code point, then
    activity id), so that the merge is exact. An activity overdue for several reasons comes in
    several parts; it is listed once.
    """
    merged: dict[tuple[str, int], Overdue] = {}
    for part in parts:
        for item in part:
            merged.setdefault((item[0].execution_id, item[0].activity_id), item)
    ordered = sorted(
        merged.values(), key=lambda i: (i[0].attempt_started_at_ms or 0, i[0].execution_id, i[0].activity_id)
    )
    return ordered[:limit]


def read(
    run: Callable[[str], list[Overdue]],
    select: str,
    parts: Mapping[str, tuple[str, str]],
    *,
    default_cut_ms: int | None,
    horizon_ms: int | None,
    limit: int,
) -> list[Overdue]:
    """Run ``select`` for each part that applies (``{source}`` and ``{criterion}`` filled in) and merge them.

    ``parts`` maps ``own``, ``default``, ``activity deadline`` and ``workflow deadline`` to their
    source and criterion; ``default`` is left out without ``default_cut_ms``, the deadlines
    without ``horizon_ms``.
    """
    found = [
        run(select.format(source=source, criterion=criterion))
        for part, (source, criterion) in parts.items()
        if not (part == "default" and default_cut_ms is None) and not ("deadline" in part and horizon_ms is None)
    ]
    return first(found, limit)
