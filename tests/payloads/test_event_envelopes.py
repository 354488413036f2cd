"""Events read by a workflow: an envelope anywhere a payload may be is found, with or without a codec."""

from __future__ import annotations

from typing import Any

import pytest

from tether.errors import UndecodablePayload
from tether.model import codecs
from tether.model.events import Event, EventType

ENVELOPE = {codecs.ENVELOPE: "aes-gcm", "key": "k1", "nonce": "AA", "data": "AA"}

WITH_ENVELOPE: list[tuple[EventType, dict[str, Any]]] = [
    (EventType.WORKFLOW_STARTED, {"workflow": "w", "args": [1, ENVELOPE]}),
    (EventType.ACTIVITY_SCHEDULED, {"activity_id": 1, "name": "a", "args": [ENVELOPE], "options": {}}),
    (EventType.ACTIVITY_COMPLETED, {"activity_id": 1, "attempt": 1, "result": ENVELOPE}),
    (EventType.ACTIVITY_FAILED, {"activity_id": 1, "failure": {"error": "E", "details": ENVELOPE}}),
    (EventType.CHILD_WORKFLOW_CLOSED, {"result": None, "failure": {"error": "E", "details": ENVELOPE}}),
    (EventType.REQUEST_ANSWERED, {"reply": ENVELOPE}),
]

PLAIN: list[tuple[EventType, dict[str, Any]]] = [
    (EventType.WORKFLOW_STARTED, {"workflow": "w", "args": [1, {"a": 1}, [ENVELOPE]]}),  # a list inside an argument
    (EventType.ACTIVITY_COMPLETED, {"activity_id": 1, "attempt": 1, "result": [ENVELOPE, 2]}),  # a list result
    (EventType.ACTIVITY_COMPLETED, {"activity_id": 1, "attempt": 1, "result": {"inner": ENVELOPE}}),
    (EventType.ACTIVITY_COMPLETED, {"activity_id": 1, "attempt": 1, "result": None}),
    (EventType.TIMER_FIRED, {"timer_id": 1, "args": [ENVELOPE]}),  # no payloads in this kind of event
]


@pytest.mark.parametrize(("kind", "data"), WITH_ENVELOPE)
def test_an_envelope_where_a_payload_is_refuses_to_decode_without_a_codec(
    kind: EventType, data: dict[str, Any]
) -> None:
    with pytest.raises(UndecodablePayload):
        codecs.decode_event(None, Event(3, kind, 5, data))


@pytest.mark.parametrize(("kind", "data"), PLAIN)
def test_an_event_without_an_envelope_in_its_payloads_is_returned_as_it_is(
    kind: EventType, data: dict[str, Any]
) -> None:
    event = Event(3, kind, 5, data)

    assert codecs.decode_event(None, event) is event
