"""``tether.logger``: a logger for workflow code that stays silent while the workflow replays.

Workflow code runs again from the start whenever a worker rebuilds an execution from its
history (after a restart, or when it no longer holds it in memory). A plain logger would
then repeat every line the code logged before; this one drops records logged while the
workflow replays what its history records, so each line is written once, when the code
first gets there. Records carry the ``execution_id`` and ``workflow`` in their fields.
"""

from __future__ import annotations

import asyncio
import logging

from tether.runtime.workflow_loop import WorkflowLoop


class _SilentWhileReplaying(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return True  # not in workflow code: nothing replays
        if not isinstance(loop, WorkflowLoop):
            return True
        instance = loop.instance
        if instance.replaying:
            return False
        record.execution_id = instance.execution_id
        record.workflow = instance.workflow.name
        return True


logger = logging.getLogger("tether.workflow")
"""Log from workflow code with this: records are dropped while the workflow replays its history."""
logger.addFilter(_SilentWhileReplaying())
