"""How a PostgreSQL statement's failure travels: a signal through the transition, a StoreUnavailable to its caller."""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from tether.errors import StoreUnavailable

# Errors after which the same transition, run again, may well succeed.
_CONFLICTS = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)


def unavailable(what: str, exc: BaseException) -> StoreUnavailable:
    """A StoreUnavailable saying ``what`` failed, caused by ``exc``."""
    error = StoreUnavailable(f"{what}: {exc}")
    error.__cause__ = exc
    return error


class StatementFailed(BaseException):  # a signal through user and engine handlers
    """A statement failed in the database; the whole transition is rolled back.

    A BaseException so that no ``except Exception`` in the engine (a timer that keeps
    failing is dropped, a workflow task that fails inline is run by the worker) mistakes a
    lost lock race or a broken connection for a failure of its own.
    """

    def __init__(self, cause: psycopg.Error, *, inherited: bool = False) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.inherited = inherited
        """Whether the failed statement may be one an earlier transition of the batch sent."""

    @property
    def is_conflict(self) -> bool:
        """Whether the transition lost a race (a deadlock) and may simply run again."""
        return isinstance(self.cause, _CONFLICTS)
