"""Child workflows as a parent's workflow code sees them: handles that resolve with the child's outcome."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

from tether import errors
from tether.model import payloads
from tether.model.events import Event, EventType
from tether.model.records import WorkflowStatus
from tether.runtime.definitions import Workflow

if TYPE_CHECKING:
    from tether.runtime.workflow_instance import WorkflowInstance

R = TypeVar("R")

_CAUSES: dict[str, type[errors.ExecutionFailure]] = {
    WorkflowStatus.FAILED.value: errors.WorkflowFailed,
    WorkflowStatus.CANCELLED.value: errors.WorkflowCancelled,
    WorkflowStatus.TERMINATED.value: errors.WorkflowTerminated,
    WorkflowStatus.TIMED_OUT.value: errors.WorkflowTimedOut,
}


class ChildWorkflowHandle(asyncio.Future[R]):
    """A child workflow a parent started: await it for its result.

    A child that does not complete (fails, is cancelled, terminated or times out) raises
    :class:`~tether.errors.ChildWorkflowFailed` with the cause attached. ``cancel()`` asks
    the child to cancel; the handle then resolves with the child's outcome.
    """

    def __init__(
        self, instance: WorkflowInstance, workflow: Workflow[..., Any], child_ref: int, child_id: str, parent_close: str
    ) -> None:
        super().__init__(loop=instance.loop)
        self.parent_close = parent_close
        self._instance = instance
        self.workflow = workflow
        self.child_ref = child_ref
        self.id = child_id
        """The child's execution id: describe it, or follow it in the web UI."""
        self._cancel_sent = False

    def cancel(self, msg: Any = None) -> bool:
        """Ask the child to cancel; True if the request was sent now.

        While the parent itself is being cancelled, a child started with
        ``parent_close="abandon"`` is left running: the parent only stops waiting for it.
        """
        if self.done():
            return False
        abandoned = self._instance.cancelling and self.parent_close == "abandon"
        if not self._cancel_sent and not abandoned:
            self._cancel_sent = True
            self._instance.emit(EventType.CHILD_WORKFLOW_CANCEL_REQUESTED, child_ref=self.child_ref, id=self.id)
        if self._instance.cancelling:
            # The parent itself is being cancelled: unwind it now rather than waiting.
            return super().cancel(msg)
        return True

    def _resolve(self, event: Event) -> None:
        if self.done():
            return
        data = event.data
        status = str(data.get("status"))
        if status == WorkflowStatus.COMPLETED.value:
            what = f"result of child workflow {self.id}"
            try:
                text = payloads.json_text(data.get("result"))
                self.set_result(payloads.decode(text, self.workflow.return_type, what=what))
            except errors.InvalidPayload as invalid:
                self.set_exception(invalid)
            return
        fault = data.get("failure") or {}
        cause = {
            "code": _CAUSES.get(status, errors.WorkflowFailed).code,
            "status": status,
            "error": fault.get("error"),
            "message": fault.get("message") or f"child workflow {self.id!r} ended {status}",
            "details": fault.get("details"),
        }
        self.set_exception(
            errors.ChildWorkflowFailed(
                f"child workflow {self.id!r} ({self.workflow.name}) ended {status}: {cause['message']}",
                child_id=self.id,
                workflow=self.workflow.name,
                cause=cause,
            )
        )
