"""Sending messages and requests into running executions, with or without starting them.

A message is stored (a row of ``messages``) and appended to the history of the run that
holds it as an input event (``MessageSent`` or ``RequestSent``) in the transition that sends
it: it is durable from that moment, whether or not the workflow waits for it yet. What
becomes of it afterwards is in :mod:`~tether.engine.message_states`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tether.engine import activities, runs, tracing, workflow_deadline, workflows
from tether.engine.message_states import MESSAGE, PENDING, deliver
from tether.errors import ExecutionClosed, InvalidPayload, MessageKeyReused
from tether.model import payloads
from tether.model.access import Access, Action
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import MessageRow

NAME_LIMIT = 256
"""The longest message or request name, in characters."""
KEY_LIMIT = 512
"""The longest idempotency key, in characters."""

_RUNNING = WorkflowStatus.RUNNING.value


@dataclass(frozen=True, slots=True)
class Sent:
    """What a send did: the message's id, and whether this call stored it (False: its key was sent before)."""

    message_id: int
    stored: bool


def check_name(name: object, what: str = "message name") -> str:
    """Refuse a name no transport could carry the same way.

    Raises:
        InvalidPayload: not a string of 1 to NAME_LIMIT printable characters.
    """
    if not isinstance(name, str) or not name or len(name) > NAME_LIMIT or not name.isprintable():
        problem = f"must be a string of 1 to {NAME_LIMIT} printable characters"
        raise InvalidPayload(f"the {what} {problem}", errors=[{"loc": [what], "msg": problem}])
    return name


def check_key(key: object) -> str | None:
    """Refuse an idempotency key no transport could carry the same way.

    Raises:
        InvalidPayload: not None and not a string of 1 to KEY_LIMIT printable characters.
    """
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > KEY_LIMIT or not key.isprintable():
        problem = f"must be a string of 1 to {KEY_LIMIT} printable characters"
        raise InvalidPayload(f"the key {problem}", errors=[{"loc": ["key"], "msg": problem}])
    return key


def send(
    tx: Transaction,
    execution_id: str,
    kind: str,
    name: str,
    payload: str,
    key: str | None,
    now_ms: int,
    access: Access | None,
) -> Sent:
    """Store a message or request for the current run of ``execution_id`` and deliver it to its history.

    A key sent before to the same execution (any of its runs) is the same message: the call
    is acknowledged as it is, even once the execution closed, and nothing is written. A
    workflow deadline that passed is applied first, and the send is then refused.

    Raises:
        ExecutionNotFound: no execution has this id.
        PermissionDenied: ``access`` may not send to this workflow.
        ExecutionClosed: the execution is closed; nothing is stored.
        MessageKeyReused: the key was sent before with another kind, name or payload.
        InvalidPayload: the payload does not match the type the workflow declares for ``name``.
    """
    execution = runs.permitted(tx, execution_id, access, Action.SEND_WORKFLOWS)
    chain, _ = runs.chain_of(tx, execution)
    if key is not None:
        earlier = tx.message_by_key(chain, key)
        if earlier is not None:
            return _repeated(earlier, execution_id, kind, name, payload)
    if execution.status != _RUNNING:
        raise ExecutionClosed(execution_id, status=execution.status)
    if workflow_deadline.apply_if_passed(tx, execution.id, now_ms, execution):
        raise activities.RefusedAfterDeadlines(ExecutionClosed(execution_id, status=WorkflowStatus.TIMED_OUT.value))
    schema = tx.message_schema(execution.workflow, name)
    if schema is not None:
        payloads.check_schema(payload, json.loads(schema), what="payload")
    row = MessageRow(0, execution.id, chain, kind, name, payload, key, PENDING, None, now_ms, None)
    message_id = tx.insert_message(row)
    if message_id is None:  # the key was taken between the look and the insert: by another process
        earlier = tx.message_by_key(chain, key) if key is not None else None
        if earlier is None:
            raise ExecutionClosed(execution_id, status=execution.status)
        return _repeated(earlier, execution_id, kind, name, payload)
    deliver(tx, execution.id, kind, message_id, name, payload, now_ms)
    return Sent(message_id, True)


def _repeated(earlier: MessageRow, execution_id: str, kind: str, name: str, payload: str) -> Sent:
    if earlier.kind != kind or earlier.name != name or json.loads(earlier.payload) != json.loads(payload):
        raise MessageKeyReused(execution_id, earlier.key or "")
    return Sent(earlier.message_id, False)


def start_and_send(
    tx: Transaction,
    execution_id: str,
    workflow: str,
    args: str,
    message: tuple[str, str, str | None],
    now_ms: int,
    access: Access | None,
    *,
    timeout_ms: int | None = None,
    timeout_known: bool = False,
    priority: int = 0,
    trace: tracing.Carrier | None = None,
) -> tuple[bool, Sent]:
    """Start the execution unless it exists, then send ``message`` (name, payload, key): one transition.

    Returns whether this call started it, and what the send did. ``priority`` is the started
    execution's (an existing one keeps its own).

    Raises:
        ExecutionIdTaken: the id belongs to an execution of another workflow; nothing is sent.
        ExecutionClosed: the execution exists and is closed; nothing is sent.
    """
    if access is not None:
        access.require(Action.START_WORKFLOWS, workflow)
    created = workflows.start(
        tx, execution_id, workflow, args, now_ms, timeout_ms=timeout_ms, timeout_known=timeout_known,
        priority=priority, trace=trace,
    )  # fmt: skip
    name, payload, key = message
    return created, send(tx, execution_id, MESSAGE, name, payload, key, now_ms, access)
