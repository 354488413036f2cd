"""The overdue listing's shape, shared by the stores: one part per criterion, each on its own index, in one page.

Each part picks the first ``offset + limit`` activities of its criterion, longest waiting
first; their union, put in the same order, holds the page. So each part costs what its
index range holds (or ``offset + limit`` rows), never a pass over every waiting activity.
"""

from __future__ import annotations

from typing import NamedTuple

from tether.store.rows import ActivityRow

Overdue = tuple[ActivityRow, str, int | None]
"""An overdue activity's row, its workflow name and its workflow's deadline (ms), as stores list them."""


class Parts(NamedTuple):
    """The source (``FROM``) and criterion (``WHERE``) of each part, in a store's SQL."""

    own: tuple[str, str]
    """Past its own waiting age limit."""
    default: tuple[str, str]
    """Declaring no limit, and waiting since the default's cut."""
    activity_deadline: tuple[str, str]
    """Its total, attempt or heartbeat deadline within the horizon."""
    workflow_deadline: tuple[str, str]
    """Its workflow's deadline within the horizon."""


def statement(
    page: str, part: str, parts: Parts, filters: str, *, default_cut_ms: int | None, horizon_ms: int | None
) -> str:
    """The page's SQL: ``page`` over the union of the ``part`` of each criterion that applies.

    ``page`` holds ``{parts}``; ``part`` holds ``{source}``, ``{executions}``, ``{criterion}`` and
    ``{filters}``. A part joins the executions only to filter by them (the page joins them anyway:
    a planner may otherwise hash the whole table). The default is left out without
    ``default_cut_ms``, the deadlines without ``horizon_ms``.
    """
    chosen = [parts.own]
    if default_cut_ms is not None:
        chosen.append(parts.default)
    if horizon_ms is not None:
        chosen.extend((parts.activity_deadline, parts.workflow_deadline))
    executions = "JOIN executions e ON e.id = a.execution_id" if "e.workflow" in filters else ""
    union = " UNION ".join(
        part.format(source=source, executions=executions, criterion=criterion, filters=filters)
        for source, criterion in chosen
    )
    return page.format(parts=union)
