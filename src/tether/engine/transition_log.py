"""One structured log line per state change the engine commits, from its facts.

State changes are logged at DEBUG; a failed or timed-out attempt at INFO when a retry
follows and at WARNING when the activity fails with it, a run that fails or times out at
WARNING, a refused close by token at INFO (the server logs the request's refusal at WARNING
with its route), a store failure at WARNING. Ids go in ``extra`` (``execution_id``,
``activity``, ``activity_id``, ``attempt``, ``workflow``, ``api_key`` when a server ran the
transition for a request): a JSON log format shows them as fields. Never a payload or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tether.engine import observation
from tether.engine.core import EngineCore

logger = logging.getLogger("tether.transitions")

_BAD_ENDS = frozenset({"failed", "timed_out"})


class TransitionLog:
    """Logs the facts of one engine's transitions; attach with :meth:`attach`."""

    def __init__(self, engine: EngineCore) -> None:
        self._engine = engine

    @classmethod
    def attach(cls, engine: EngineCore) -> TransitionLog:
        """Log ``engine``'s transitions from now on."""
        log = cls(engine)
        engine.add_observer(log)
        return log

    def close(self) -> None:
        """Stop logging."""
        self._engine.remove_observer(self)

    def observe(self, facts: Sequence[observation.Fact], caller: str | None) -> None:  # noqa: D102
        debug = logger.isEnabledFor(logging.DEBUG)
        for fact in facts:
            if not debug and type(fact) in _DEBUG_ONLY:
                continue
            # The level first: a DEBUG line builds no message unless DEBUG is enabled.
            level = _level(fact)
            if level is not None and logger.isEnabledFor(level):
                message, extra = _line(fact)
                if caller is not None:
                    extra["api_key"] = caller
                logger.log(level, message, extra=extra)


_DEBUG_ONLY = frozenset(
    {
        observation.ExecutionStarted,
        observation.AttemptStarted,
        observation.WentAsync,
        observation.Heartbeat,
        observation.Resumed,
    }
)
"""Facts never logged above DEBUG (see :func:`_level`): skipped at once while DEBUG is off."""

_QUIET_ENDS = frozenset({"completed", "cancelled"})
"""Attempt outcomes logged at DEBUG; any other is logged at INFO (a retry follows) or WARNING."""


def _level(fact: observation.Fact) -> int | None:
    """The level ``fact`` is logged at; None if it is not logged."""
    if isinstance(fact, observation.AttemptClosed):
        if fact.outcome in _QUIET_ENDS:
            return logging.DEBUG
        return logging.WARNING if fact.final else logging.INFO
    if isinstance(fact, observation.ExecutionClosed):
        return logging.WARNING if fact.status in _BAD_ENDS else logging.DEBUG
    if isinstance(fact, observation.TokenClose):
        return logging.INFO if fact.outcome == "refused" else logging.DEBUG
    if isinstance(fact, observation.StoreTransaction):
        return None if fact.error is None else logging.WARNING
    if isinstance(fact, observation.Resumed):
        return None  # not a state change: the latency is a metric
    return logging.DEBUG


def _line(fact: observation.Fact) -> tuple[str, dict[str, Any]]:
    """The message of ``fact`` and its ``extra`` fields."""
    match fact:
        case observation.ExecutionStarted(execution_id=eid, workflow=workflow):
            return f"execution {eid} of {workflow} started", {"execution_id": eid, "workflow": workflow}
        case observation.ExecutionClosed(execution_id=eid, workflow=workflow, status=status):
            extra = {"execution_id": eid, "workflow": workflow, "status": status}
            return f"execution {eid} of {workflow} closed: {status}", extra
        case observation.AttemptStarted() | observation.WentAsync() | observation.Heartbeat():
            what = {
                observation.AttemptStarted: "started",
                observation.WentAsync: "waits for its token",
                observation.Heartbeat: "heartbeat",
            }[type(fact)]
            return f"activity {fact.activity} attempt {fact.attempt} of {fact.execution_id}: {what}", _activity(fact)
        case observation.AttemptClosed(outcome=outcome, error=error, final=final):
            message = f"activity {fact.activity} attempt {fact.attempt} of {fact.execution_id}: {outcome}"
            extra = {**_activity(fact), "outcome": outcome}
            if error is not None:
                message += f" ({error}{'' if final else ', will retry'})"
                extra["error"] = error
            return message, extra
        case observation.TokenClose(call=call, outcome=outcome, code=code):
            message = f"{call} by token: {outcome}" + (f" ({code})" if code else "")
            return message, {"call": call, "outcome": outcome, "error_code": code}
        case observation.StoreTransaction(error=error):
            return f"a store transaction failed: {error}", {"error": error}
    raise AssertionError(f"not logged: {fact!r}")  # Resumed: see _level


def _activity(
    fact: observation.AttemptStarted | observation.AttemptClosed | observation.WentAsync | observation.Heartbeat,
) -> dict[str, Any]:
    return {
        "execution_id": fact.execution_id,
        "activity": fact.activity,
        "activity_id": fact.activity_id,
        "attempt": fact.attempt,
    }
