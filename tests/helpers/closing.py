"""Close an execution as terminate will, straight through the engine's one close path (for resume tests)."""

from __future__ import annotations

import json

from tether.engine import workflows
from tether.engine.engine import Engine
from tether.model.events import EventType
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction


async def terminate(engine: Engine, execution_id: str, reason: str = "test") -> None:
    """End a running execution as terminated, closing what it holds, as ``client.terminate`` does."""
    now = engine.clock.now_ms()

    event = (EventType.WORKFLOW_TERMINATED, json.dumps({"reason": reason}))

    def close(tx: Transaction) -> None:
        workflows.close(
            tx, execution_id, WorkflowStatus.TERMINATED, event, reason="its workflow was terminated", now_ms=now
        )

    await engine.store.run(close)
