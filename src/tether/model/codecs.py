"""Payload codecs: the protocol, the envelope an encoded payload travels in, and encoding payloads of events.

A codec turns a JSON value into another JSON value (``encode``) and back (``decode``).
Whoever holds it (a client, a worker) encodes every user payload before it reaches the
store or the server and decodes it on the way back, so the store and the HTTP wire
stay JSON and only codec holders see plain values. An encoded payload is an envelope,
a JSON object whose key :data:`ENVELOPE` names its encoding::

    {"tether/encoding": "aes-gcm", "key": "k2", "nonce": "<base64url>", "data": "<base64url>"}

Payloads are user values: workflow, activity and child arguments, results, heartbeat
details (checkpoints), failure details, message and request payloads, request replies and
published values. Names, ids, error types, failure and rejection messages, inbox notes
and notification data are not: the engine, the UI and third parties read them.

A codec holder decodes envelopes and takes plain values as they are (payloads written
before the codec was configured, or by a UI without the key); one without a codec meets
an envelope as :class:`~tether.errors.UndecodablePayload` rather than handing ciphertext
to user code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tether.errors import UndecodablePayload
from tether.model import payloads
from tether.model.events import Command, Event, EventType
from tether.model.payloads import JSONValue

ENVELOPE = payloads.ENVELOPE
is_encoded = payloads.is_encoded


class PayloadCodec(Protocol):
    """Encodes user payloads (JSON values) for storage and transport, and decodes them back.

    Both methods are synchronous: workflow code replays without I/O, inside store
    transactions. A codec backed by a key service fetches and caches its keys outside
    these calls. ``encode`` must return an envelope (a dict with :data:`ENVELOPE`), and
    equal values should encode equally: a retried call (a completion, a message with a
    key) is recognised as the same one by its encoded payload.
    """

    def encode(self, value: JSONValue) -> JSONValue:
        """The envelope of a plain JSON value."""
        ...

    def decode(self, value: JSONValue) -> JSONValue:
        """The plain JSON value of an envelope this codec made.

        Raises:
            UndecodablePayload: unknown encoding or key, or altered data.
        """
        ...


def label(value: dict[str, Any]) -> str:
    """How an envelope is shown to someone without its key: ``encoded (aes-gcm, key k2)``."""
    key = value.get("key")
    return f"encoded ({value.get(ENVELOPE)}" + (f", key {key})" if key is not None else ")")


def undecodable(value: dict[str, Any], reason: str) -> UndecodablePayload:
    """The error for an envelope that cannot be decoded, naming its encoding and key."""
    encoding, key = str(value.get(ENVELOPE)), value.get("key")
    return UndecodablePayload(
        f"a payload is {label(value)} and {reason}", encoding=encoding, key=None if key is None else str(key)
    )


def decode(codec: PayloadCodec | None, value: JSONValue) -> JSONValue:
    """The plain form of a payload: an envelope decoded, a plain value as it is.

    Raises:
        UndecodablePayload: an envelope, and no codec or one that cannot decode it.
    """
    if not is_encoded(value):
        return value
    if codec is None:
        raise undecodable(value, "no codec is configured here; connect the client or worker with codec=")
    return codec.decode(value)


def encode(codec: PayloadCodec, value: JSONValue) -> JSONValue:
    """The encoded form of a plain payload; None stays None (it carries nothing, and means "none given")."""
    return None if value is None else codec.encode(value)


def encode_text(codec: PayloadCodec, text: str) -> str:
    """JSON text of a payload, encoded."""
    return payloads.json_text(encode(codec, payloads.parse(text)))


def decode_text(codec: PayloadCodec | None, text: str) -> str:
    """JSON text of a payload, decoded (unchanged when plain)."""
    value = payloads.parse(text)
    return text if not is_encoded(value) else payloads.json_text(decode(codec, value))


def encode_args_text(codec: PayloadCodec, text: str) -> str:
    """JSON text of an argument list with each argument encoded (the list stays a list for the engine)."""
    return payloads.json_text([encode(codec, arg) for arg in payloads.parse(text)])


def decode_args_text(codec: PayloadCodec | None, text: str) -> str:
    """JSON text of an argument list with each argument decoded (unchanged when none is encoded).

    Without a codec, the text is only searched for the envelope's key: cheap for the plain case.
    """
    if codec is None and ENVELOPE not in text:
        return text
    args = payloads.parse(text)
    if not any(is_encoded(arg) for arg in args):
        return text
    return payloads.json_text([decode(codec, arg) for arg in args])


_Coder = Callable[[JSONValue], JSONValue]

_ARGS = ("args", "*")
_PAYLOADS: dict[EventType, tuple[tuple[str, ...], ...]] = {
    EventType.WORKFLOW_STARTED: (_ARGS,),
    EventType.WORKFLOW_CONTINUED_AS_NEW: (_ARGS,),
    EventType.ACTIVITY_SCHEDULED: (_ARGS,),
    EventType.CHILD_WORKFLOW_STARTED: (_ARGS,),
    EventType.ACTIVITY_COMPLETED: (("result",),),
    EventType.WORKFLOW_COMPLETED: (("result",),),
    EventType.CHILD_WORKFLOW_CLOSED: (("result",), ("failure", "details")),
    EventType.ACTIVITY_HEARTBEAT: (("details",),),
    EventType.ACTIVITY_CANCELLED: (("details",),),
    EventType.ACTIVITY_ATTEMPT_FAILED: (("failure", "details"),),
    EventType.ACTIVITY_FAILED: (("failure", "details"),),
    EventType.ACTIVITY_TIMED_OUT: (("failure", "details"),),
    EventType.WORKFLOW_FAILED: (("failure", "details"),),
    EventType.MESSAGE_SENT: (("payload",),),
    EventType.REQUEST_SENT: (("payload",),),
    EventType.REQUEST_ANSWERED: (("reply",),),
    EventType.VALUE_PUBLISHED: (("value",),),
}
"""Where each kind of event holds user payloads (``*``: each item of a list); other events hold none."""
_PAYLOAD_MEMBER = {
    kind: path[0] for kind, (path, *others) in _PAYLOADS.items() if not others and path[1:] in ((), ("*",))
}
"""The member of each kind of event whose payload is the member's value, or each of its items (most of those with any).

An envelope is a dict: one of these events holds none when the member is no dict, or a list of no dicts."""


def _holds_envelope(value: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return is_encoded(value)
    if path[0] == "*":
        return type(value) is list and any(_holds_envelope(item, path[1:]) for item in value)
    return type(value) is dict and _holds_envelope(value.get(path[0]), path[1:])


def _holds_any(data: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> bool:
    """Whether any payload of an event is an envelope; on every event a workflow reads, so kept cheap."""
    for path in paths:
        value = data.get(path[0])
        if len(path) == 1:
            if type(value) is dict and ENVELOPE in value:
                return True
        elif path[1] == "*" and len(path) == 2:  # a list of payloads (arguments): looked at in place
            if type(value) is list:
                for item in value:
                    if type(item) is dict and ENVELOPE in item:
                        return True
        elif _holds_envelope(value, path[1:]):
            return True
    return False


def _recode(value: Any, path: tuple[str, ...], code: _Coder) -> Any:
    if not path:
        return code(value)
    if path[0] == "*":
        return [_recode(item, path[1:], code) for item in value] if type(value) is list else value
    if type(value) is not dict or value.get(path[0]) is None:
        return value
    return {**value, path[0]: _recode(value[path[0]], path[1:], code)}


def decode_event(codec: PayloadCodec | None, event: Event) -> Event:
    """The event with its payloads decoded (the same object when it holds no envelope).

    Raises:
        UndecodablePayload: an envelope, and no codec or one that cannot decode it.
    """
    data = event.data
    key = _PAYLOAD_MEMBER.get(event.type)
    if key is not None:  # looked at here, without a call: most events read have no envelope
        value = data.get(key)
        if type(value) is list:  # arguments, each a payload (or a plain list, which is no envelope)
            for item in value:
                if type(item) is dict and ENVELOPE in item:
                    break
            else:
                return event
        elif type(value) is not dict or ENVELOPE not in value:
            return event
    paths = _PAYLOADS.get(event.type)
    if paths is None or not _holds_any(data, paths):
        return event
    for path in paths:
        data = _recode(data, path, lambda value: decode(codec, value))
    return Event(event.seq, event.type, event.at_ms, data)


def encode_command(codec: PayloadCodec, command: Command) -> Command:
    """The command with its payloads encoded (and no precomputed texts: they hold the plain values)."""
    paths = _PAYLOADS.get(command.type)
    if paths is None:
        return command
    data = command.data
    for path in paths:
        data = _recode(data, path, lambda value: encode(codec, value))
    return Command(command.type, data)


def show(value: Any, codec: PayloadCodec | None) -> Any:
    """``value`` for display: envelopes inside it decoded with ``codec``, or replaced by their label.

    An envelope that ``codec`` cannot decode shows its label and why.
    """
    if type(value) is dict:
        if ENVELOPE in value:
            if codec is None:
                return label(value)
            try:
                return show(codec.decode(value), None)
            except UndecodablePayload as exc:
                return exc.message
        return {k: show(v, codec) for k, v in value.items()}
    if type(value) is list:
        return [show(v, codec) for v in value]
    return value
