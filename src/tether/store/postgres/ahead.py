"""What the transitions of a batch said ahead they lock and read (see ``Store.run`` and ``Store.read``).

The store's thread asks each job of a batch before it runs, so that the locks of all of them,
and the executions its reads ask for, are taken and read together rather than one round trip
each. What a job says is a guess: one that fails or says nothing leaves the job to lock and
read as it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tether.store.base import Touches, TouchesAhead

logger = logging.getLogger(__name__)


def said(jobs: Iterable[tuple[bool, TouchesAhead | None]]) -> tuple[list[Touches], list[str]]:
    """What the writes of a batch lock first, and the executions its reads ask for.

    ``jobs``: for each job in order, whether it only reads and what it said it touches.
    """
    locks: list[Touches] = []
    reads: list[str] = []
    for read_only, touches_ahead in jobs:
        if touches_ahead is None:
            continue
        try:
            touches = touches_ahead()
        except Exception:  # a guess that failed is no guess: the transition locks as it goes
            logger.debug("could not tell what a transition touches", exc_info=True)
            continue
        if touches is None:
            continue
        if read_only:
            reads.append(touches.execution_id)
        else:
            locks.append(touches)
    return locks, reads


def worth_locking(locks: list[Touches]) -> bool:
    """Whether taking these locks ahead saves round trips.

    One lock taken ahead saves nothing: its transition reads behind it in the same round trip
    (and the open activities with it, if it said it reads them).
    """
    return len(locks) >= 2


def worth_reading(reads: list[str]) -> bool:
    """Whether reading these executions ahead saves round trips: each read would be one of its own."""
    return len(set(reads)) >= 2
