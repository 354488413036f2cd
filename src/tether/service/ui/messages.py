"""The execution page's messages and requests: the send form read, its refusals placed, and the list laid out.

The form sends a message (never a request: a request's caller waits for an answer, which a
page cannot do). Its payload is JSON typed by a person, an empty one meaning null as in the
CLI; whether it fits the type the workflow declares for the name is the engine's check, whose
errors the form shows beside the input they concern.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from tether import errors
from tether.engine import message_states, queries
from tether.model import payloads
from tether.model.records import MessageInfo, WorkflowDescription
from tether.service import errors as error_table
from tether.service.ui import forms

_STATES = (
    message_states.PENDING,
    message_states.RECEIVED,
    message_states.REPLIED,
    message_states.REJECTED,
)


@dataclass(frozen=True, slots=True)
class Sending:
    """What the send form shows: the values as typed and, after a refusal, why (by field, or for the form)."""

    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""
    """A refusal that is about no one input (a closed execution, a missing scope)."""
    status: int = 200


def read(submitted: Mapping[str, str]) -> tuple[str, str, str | None]:
    """The name, payload (JSON text) and key the form describes.

    Raises:
        forms.FormErrors: no name, or a payload that is not JSON.
        InvalidPayload: a payload JSON cannot carry (NaN, Infinity).
    """
    name = submitted.get("name", "").strip()
    text = submitted.get("payload", "").strip()
    problems: dict[str, str] = {} if name else {"name": "a name is required"}
    value: object = None
    if text:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems["payload"] = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if problems:
        raise forms.FormErrors(problems)
    return name, payloads.encode(value, what="payload"), submitted.get("key", "").strip() or None


def refused(exc: forms.FormErrors | errors.Refused, submitted: Mapping[str, str]) -> Sending:
    """The form again, with the refusal beside the input it concerns (or above the form)."""
    values = {k: submitted.get(k, "") for k in ("name", "payload", "key")}
    if isinstance(exc, forms.FormErrors):
        return Sending(values, exc.errors, status=422)
    status = error_table.status_of(exc)
    if isinstance(exc, errors.MessageKeyReused):
        return Sending(values, {"key": exc.message}, status=status)
    if isinstance(exc, errors.InvalidPayload):
        where = next((str(e["loc"][0]) for e in exc.errors if e.get("loc")), "payload")
        name = {"message name": "name", "key": "key"}.get(where, "payload")
        return Sending(values, {name: exc.message}, status=status)
    return Sending(values, problem=f"Not sent: {exc.message}", status=status)


@dataclass(frozen=True, slots=True)
class Listing:
    """A run's messages, newest first, with how many stand in each state."""

    messages: list[MessageInfo]
    counts: list[tuple[str, int]]
    capped: bool
    """Whether the run may hold older ones than these (a description lists only the latest)."""


def listing(description: WorkflowDescription) -> Listing:
    """Lay out the messages of a description: newest first, so the one just sent leads."""
    held = Counter(m.state for m in description.messages)
    counts = [(state, held[state]) for state in _STATES if held[state]]
    capped = len(description.messages) >= queries.MESSAGES_SHOWN
    return Listing(list(reversed(description.messages)), counts, capped)
