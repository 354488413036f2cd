"""What becomes of a message once sent: the workflow takes it, answers it, or a next run inherits it.

The workflow takes messages in send order and records each take as a command
(``MessageReceived``, ``RequestReceived``) and answers requests with ``RequestAnswered``;
those commands update the message's row, so that anyone can see what is pending. A run
that continues as new hands what it never took (and requests it took without answering)
to the next run, whose history receives them as the first run's did.
"""

from __future__ import annotations

import json
from typing import Any

from tether.engine import notifier
from tether.model import payloads
from tether.model.events import EventType
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow

MESSAGE = "message"
REQUEST = "request"
PENDING = "pending"
RECEIVED = "received"
REPLIED = "replied"
REJECTED = "rejected"
ANSWERED = frozenset({REPLIED, REJECTED})
_SENT_EVENT = {MESSAGE: EventType.MESSAGE_SENT, REQUEST: EventType.REQUEST_SENT}


def deliver(tx: Transaction, run_id: str, kind: str, message_id: int, name: str, payload: str, now_ms: int) -> None:
    """Append a message's input event to a run's history and offer the run to workflow workers."""
    data = f'{{"message_id":{int(message_id)},"name":{json.dumps(name)},"payload":{payload}}}'
    tx.append_events(run_id, [(_SENT_EVENT[kind], data)], now_ms)
    tx.enqueue_workflow_task(run_id, now_ms)


def apply(tx: Transaction, execution: ExecutionRow, kind: EventType, data: dict[str, Any], now_ms: int) -> None:
    """Carry out a workflow's command about a message: it took one, or answered a request."""
    message_id = int(data["message_id"])
    row = tx.get_message(message_id)
    if row is None or row.execution_id != execution.id:
        return  # deleted meanwhile, or a replay's command of a message that moved on: nothing to record
    if kind == EventType.REQUEST_ANSWERED:
        if "reply" in data:
            tx.update_message(message_id, state=REPLIED, at_ms=now_ms, answer=payloads.json_text(data["reply"]))
        else:
            tx.update_message(message_id, state=REJECTED, at_ms=now_ms, answer=json.dumps(data.get("reason", "")))
        tx.wake(notifier.MESSAGES)
    else:
        tx.update_message(message_id, state=RECEIVED, at_ms=now_ms)


def hand_over(tx: Transaction, run: ExecutionRow, following: str, now_ms: int) -> None:
    """Give the next run of a chain what ``run`` left: messages it never took, requests it never answered.

    They keep their ids and order, and reach the next run's history as they reached this one's.
    """
    left = tx.messages_of(run.id, unanswered=True)
    if not left:
        return
    tx.move_messages([m.message_id for m in left], following)
    for message in left:
        deliver(tx, following, message.kind, message.message_id, message.name, message.payload, now_ms)
