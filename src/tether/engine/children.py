"""Child workflows: started and cancelled by a parent's workflow task, each an ordinary execution.

A child is started in the transaction that records the parent's ChildWorkflowStarted
command, so a parent that crashes and replays never starts it twice. Its link names the
parent's run and the parent's reference for it; its close reaches the parent as a
ChildWorkflowClosed event (see :mod:`tether.engine.closing`).
"""

from __future__ import annotations

import json
from typing import Any

from tether.engine import closing, runs, starting, tracing
from tether.errors import ExecutionIdTaken, InvalidPayload
from tether.model import payloads
from tether.model.events import failure
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow, LinkRow

PARENT_CLOSE_POLICIES = ("cancel", "abandon")


def start(tx: Transaction, parent: ExecutionRow, data: dict[str, Any], now_ms: int) -> None:
    """Start the child a ChildWorkflowStarted command names, or attach the execution that has its id.

    An execution with the child's id that has no parent becomes this parent's child (the
    same execution: starting is idempotent); if it closed already, the parent hears its
    outcome at once. One of another workflow, or the child of another parent, is refused:
    the parent's handle fails with the reason.
    """
    ref, child_id, workflow = int(data["child_ref"]), str(data["id"]), str(data["name"])
    policy = str(data.get("parent_close") or "cancel")
    tx.mark_parent(parent.id)
    started = f',"parent_id":{json.dumps(parent.id)},"parent_ref":{ref}'
    started += tracing.started_member(tracing.started_trace(tx, parent.id))  # the child joins the trace
    try:
        runs.check_not_reserved(child_id)
        created = starting.create(
            tx, child_id, workflow, payloads.json_text(data["args"]), now_ms, started=started, priority=parent.priority
        )
    except (ExecutionIdTaken, InvalidPayload) as refused:
        _refuse(tx, parent, ref, child_id, refused, now_ms)
        return
    if created:
        tx.insert_link(LinkRow(child_id, None, 1, parent.id, ref, policy))
        return
    first = tx.get_link(child_id)
    if first is not None and first.parent_id is not None and first.parent_id != parent.id:
        taken = ExecutionIdTaken(child_id, workflow=workflow, requested=workflow)
        taken.message = f"execution {child_id!r} is already the child of {first.parent_id!r}"
        _refuse(tx, parent, ref, child_id, taken, now_ms)
        return
    if first is not None and first.parent_ref == ref:
        return  # this very start, recorded before
    # Not yet anyone's child, or this parent's under another reference (a start its resume undid
    # and its code made again): it becomes this reference's.
    current = runs.current_run(tx, child_id)
    tx.insert_link(LinkRow(child_id, None, 1, parent.id, ref, policy))
    if current.id != child_id:
        _, run = runs.chain_of(tx, current)
        tx.insert_link(LinkRow(current.id, child_id, run, parent.id, ref, policy))
    if current.status != WorkflowStatus.RUNNING.value:
        outcome = closing.outcome_of(current.status, current.result, current.error)
        closing.deliver_child_outcome(tx, parent.id, ref, child_id, outcome, now_ms)


def request_cancel(tx: Transaction, parent: ExecutionRow, data: dict[str, Any], now_ms: int) -> None:
    """Ask a child (its current run) to cancel; nothing if it closed already."""
    child_id = str(data["id"])
    link = tx.get_link(child_id)
    if link is None or link.parent_id != parent.id:
        return  # never started (refused), or another parent's
    closing.request_cancel(tx, runs.current_run(tx, child_id), now_ms)


def _refuse(tx: Transaction, parent: ExecutionRow, ref: int, child_id: str, refused: Exception, now_ms: int) -> None:
    fault = failure(type(refused).__name__, str(refused))
    outcome = {"status": WorkflowStatus.FAILED.value, "failure": fault, "refused": True}
    closing.deliver_child_outcome(tx, parent.id, ref, child_id, outcome, now_ms)
