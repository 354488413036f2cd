"""The runs of an execution: continue-as-new, and finding the run that calls by an execution's id act on.

A run that continues as new closes with status ``continued``; the next run is an ordinary
execution stored under its own id (``<id>#run-<n>``), linked to the chain's first run by
an execution link, and starts with the new arguments and an empty history. Clients keep
naming the first run's id: :func:`current_run` follows the chain to its latest run.
"""

from __future__ import annotations

import json
import re

from tether.engine import closing, message_states, published, starting, tracing, workflow_deadline
from tether.errors import ExecutionNotFound, InvalidPayload, UsageError
from tether.model import payloads
from tether.model.access import Access, Action
from tether.model.events import Command, EventType
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow, LinkRow

_CONTINUED = WorkflowStatus.CONTINUED.value
_RUN_SUFFIX = re.compile(r"#run-[0-9]+$")


def run_id(chain_id: str, run: int) -> str:
    """The id run ``run`` of the execution ``chain_id`` is stored under."""
    return chain_id if run == 1 else f"{chain_id}#run-{run}"


def check_not_reserved(execution_id: str) -> None:
    """Refuse an id that names a run after the first: those ids are given only by continue-as-new.

    Raises:
        InvalidPayload: the id ends in ``#run-<n>``.
    """
    if _RUN_SUFFIX.search(execution_id):
        problem = "must not end in '#run-<n>': such ids name the runs of continued executions"
        raise InvalidPayload(f"the id {problem}", errors=[{"loc": ["id"], "msg": problem}])


def current_run(tx: Transaction, execution_id: str) -> ExecutionRow:
    """The run that calls naming ``execution_id`` act on: the chain's latest when it continued.

    ``execution_id`` is the id a client started (the chain's first run), or the id of one
    run. A continued run is followed to the run that succeeded it. On PostgreSQL each run is
    read under its lock, so a run that continues meanwhile is seen as continued and followed.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    execution = tx.get_execution(execution_id)
    if execution is None:
        # The first run may be gone (retention) while later runs of its chain remain.
        latest = tx.latest_run_id(execution_id)
        execution = tx.get_execution(latest) if latest is not None else None
        if execution is None:
            raise ExecutionNotFound(execution_id)
    while execution.status == _CONTINUED:
        latest = tx.latest_run_id(_chain(tx.get_link(execution.id), execution.id))
        following = tx.get_execution(latest) if latest is not None else None
        if following is None or following.id == execution.id:
            return execution  # the next run is gone (deleted): the chain ends here
        execution = following
    return execution


def permitted(
    tx: Transaction,
    execution_id: str,
    access: Access | None,
    action: Action,
    run: int | None = None,
    *,
    exact: bool = False,
) -> ExecutionRow:
    """The run of an execution a client names (its current one, or number ``run``), once ``access`` allows ``action``.

    ``exact`` (for reads): a later run named by its own id is that run, not the chain's latest.

    Raises:
        ExecutionNotFound: no execution has this id (or no such run).
        PermissionDenied: ``access`` may not do ``action`` to this execution's workflow.
    """
    if run is not None:
        row = run_of(tx, execution_id, run)
    else:
        row = named_run(tx, execution_id) if exact else current_run(tx, execution_id)
    if access is not None:
        access.require(action, row.workflow)
    return row


def named_run(tx: Transaction, execution_id: str) -> ExecutionRow:
    """The run a read names: a later run by its own id (``<id>#run-<n>``) is that run, as it is.

    The chain's id (its first run's) names its latest run, as in :func:`current_run`.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    execution = tx.get_execution(execution_id)
    if execution is not None and execution.status == _CONTINUED:
        link = tx.get_link(execution_id)
        if link is not None and link.chain_id:
            return execution
    return current_run(tx, execution_id)


def run_of(tx: Transaction, execution_id: str, run: int) -> ExecutionRow:
    """Run number ``run`` of the execution a client names ``execution_id``.

    Raises:
        ExecutionNotFound: no such execution, or it has no such run.
    """
    chain = _chain(tx.get_link(execution_id), execution_id)
    execution = tx.get_execution(run_id(chain, run)) if run >= 1 else None
    if execution is None:
        missing = ExecutionNotFound(execution_id)
        if run != 1:
            missing.message = f"execution {execution_id!r} has no run {run}"
            missing.args = (missing.message,)
        raise missing
    return execution


def continue_as_new(tx: Transaction, execution: ExecutionRow, command: Command, seen_seq: int, now_ms: int) -> int:
    """Close a run as continued and start the chain's next run with the command's arguments.

    The next run inherits the chain's workflow deadline, its parent, its published values
    (with their versions), and a cancellation requested after the closing task had read its
    events (one the run never saw). Returns
    the sequence number of the closed run's last event.
    """
    link = tx.get_link(execution.id)
    chain = _chain(link, execution.id)
    run = link.run if link is not None else 1
    following = run_id(chain, run + 1)
    deadline = tx.workflow_deadline_ms(execution.id)
    unseen_cancel = execution.cancel_requested and any(
        event.type == EventType.WORKFLOW_CANCEL_REQUESTED for event in tx.load_events(execution.id, seen_seq)
    )
    args = payloads.json_text(command.data["args"])
    data = json.dumps({"args": command.data["args"], "next_run_id": following}, separators=(",", ":"))
    last_seq = closing.close_execution(
        tx, execution.id, WorkflowStatus.CONTINUED, (EventType.WORKFLOW_CONTINUED_AS_NEW, data),
        reason="its workflow continued as new", now_ms=now_ms,
    )  # fmt: skip
    # The chain's deadline (if any) is carried over as it is: the next run's start decided it.
    timeout = None if deadline is None else max(deadline - now_ms, 0)
    started = f',"run":{run + 1},"previous_run_id":{json.dumps(execution.id)},"timeout_ms":{json.dumps(timeout)}'
    started += tracing.started_member(tracing.started_trace(tx, execution.id))  # the next run stays in it
    if not starting.create(
        tx, following, execution.workflow, args, now_ms, started=started, priority=execution.priority
    ):
        raise UsageError(f"the next run of {chain!r} cannot be stored: id {following!r} is taken")
    published.carry_over(tx, execution.id, following)
    tx.insert_link(
        LinkRow(
            following, chain, run + 1,
            link.parent_id if link is not None else None,
            link.parent_ref if link is not None else None,
            link.parent_close if link is not None else None,
        )
    )  # fmt: skip
    if deadline is not None:
        workflow_deadline.arm(tx, following, deadline)
    message_states.hand_over(tx, execution, following, now_ms)
    if unseen_cancel:
        new_run = tx.get_execution(following)
        if new_run is not None:
            closing.request_cancel(tx, new_run, now_ms)
    return last_seq


def chain_of(tx: Transaction, execution: ExecutionRow) -> tuple[str, int]:
    """The chain id (the first run's) and the run number of a run."""
    link = tx.get_link(execution.id)
    return _chain(link, execution.id), link.run if link is not None and link.chain_id else 1


def _chain(link: LinkRow | None, execution_id: str) -> str:
    """The chain an execution with this link belongs to: its first run's id (its own, for a first run)."""
    return link.chain_id if link is not None and link.chain_id else execution_id
