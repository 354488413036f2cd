"""The engine's reads of stored trace contexts: what spans of tasks, attempts and calls by token hang off.

Only tracing calls them, so that an execution's trace costs no read while tracing is off.
"""

from __future__ import annotations

from typing import Any

from tether.engine import token_calls, tracing
from tether.engine.core import EngineCore
from tether.errors import Refused
from tether.model.access import Access, Action
from tether.store.base import Transaction


class TraceCalls(EngineCore):
    """Reads of the trace context an execution was started in (see :mod:`tether.engine.tracing`)."""

    async def started_data(self, execution_id: str) -> dict[str, Any] | None:
        """The data of an execution's WorkflowStarted event (its trace context, run); None if it does not exist."""

        def read(tx: Transaction) -> dict[str, Any] | None:
            first = tx.first_event(execution_id)
            return None if first is None else first.data

        return await self.store.read(read)

    async def trace_context_of_token(
        self, token: str, *, access: Access | None = None
    ) -> tuple[str, tracing.Carrier | None] | None:
        """The execution a token names and its trace context; None for a token the call will refuse.

        The token is verified and the caller's access checked before the execution is read,
        as the call itself does; a refusal is the call's to raise, not this read's.
        """
        now = self.clock.now_ms()

        def read(tx: Transaction) -> tuple[str, tracing.Carrier | None] | None:
            try:
                claims = self._keys.verify(tx, token, now)
                token_calls.permit(tx, claims.execution_id, access, Action.WRITE_ACTIVITIES)
            except Refused:
                return None
            return claims.execution_id, tracing.started_trace(tx, claims.execution_id)

        return await self.store.read(read)
