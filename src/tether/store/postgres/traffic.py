"""What the PostgreSQL stores of this process sent the server: statements and round trips, counted as sent."""

from __future__ import annotations

__all__ = ["TRAFFIC", "Traffic"]


class Traffic:
    """What the PostgreSQL stores of this process sent the server, counted as they send it.

    ``statements`` counts each statement sent (BEGIN, SAVEPOINT, NOTIFY and COMMIT too),
    ``round_trips`` each time the store waited for the server to answer. ``bin/bench``
    reads them before and after a workload; counting costs an addition per statement.
    """

    __slots__ = ("round_trips", "statements")

    def __init__(self) -> None:
        self.statements = 0
        self.round_trips = 0


TRAFFIC = Traffic()
"""The counts of every PostgreSQL store of this process."""
