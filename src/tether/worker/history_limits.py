"""How long a run's history may grow: a warning past one size, a refused workflow task past another.

Every workflow task of an execution that no worker holds in memory replays its whole history,
and the store keeps every event: a workflow that loops for months must continue as new
(``tether.ContinueAsNew``) to start a run with an empty history. These limits make a run
that does not visible in the logs first, then stop it before it grinds the store.
"""

from __future__ import annotations

import logging
import threading

from tether.errors import HistoryTooLarge, UsageError

logger = logging.getLogger(__name__)

DEFAULT_WARNING = 10_000
"""Events in a run's history past which the worker logs a warning (Temporal warns at the same size)."""
DEFAULT_LIMIT = 50_000
"""Events in a run's history past which the worker refuses its workflow tasks (Temporal's limit is close)."""
_REMEMBERED = 10_000
"""Executions a worker remembers having warned about, the oldest forgotten first."""


class HistoryLimits:
    """A worker's history limits, and the executions it has warned about (once each).

    A warning at or above the limit never fires: the refusal names ``tether.ContinueAsNew`` too.
    """

    def __init__(self, warning: int | None, limit: int | None, worker: str) -> None:
        for name, value in (("history_warning", warning), ("history_limit", limit)):
            if value is not None and value < 1:
                raise UsageError(f"{name} must be a number of events (1 or more), or None for no {name}")
        self.warning = warning
        self.limit = limit
        self._worker = worker
        self._warned: dict[str, None] = {}
        self._lock = threading.Lock()

    def refusal(self, execution_id: str, events: int) -> HistoryTooLarge | None:
        """Why a workflow task of a run with ``events`` events must not run, if it must not; else warn if due."""
        if self.limit is not None and events > self.limit:
            return HistoryTooLarge(execution_id=execution_id, events=events, limit=self.limit)
        self.observe(execution_id, events)
        return None

    def observe(self, execution_id: str, events: int) -> None:
        """Warn (once per execution; from any thread) if the run's history has grown past the warning."""
        if self.warning is None or events <= self.warning:
            return
        with self._lock:
            if execution_id in self._warned:
                return
            self._warned[execution_id] = None
            if len(self._warned) > _REMEMBERED:
                del self._warned[next(iter(self._warned))]
        logger.warning(
            "execution %s has %d events in its history, past the warning of %d (workflow tasks are refused past %s): "
            "end the run with tether.ContinueAsNew to go on with an empty history",
            execution_id, events, self.warning, self.limit if self.limit is not None else "no limit",
            extra={"execution_id": execution_id, "events": events, "worker": self._worker},
        )  # fmt: skip
