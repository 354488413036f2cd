"""The payloads of an activity attempt through the worker's codec: its start decoded, its outcome encoded."""

from __future__ import annotations

import dataclasses

from tether.engine.activities import AttemptOutcome
from tether.engine.activity_starts import AttemptStart
from tether.model import codecs
from tether.model.codecs import PayloadCodec


def decoded_start(start: AttemptStart, codec: PayloadCodec | None) -> AttemptStart:
    """The start with its arguments and checkpoint decoded (itself when nothing is encoded).

    Raises:
        UndecodablePayload: an encoded payload, and no codec or one that cannot decode it.
    """
    checkpoint = start.checkpoint
    if (
        codec is None
        and codecs.ENVELOPE not in start.args
        and (checkpoint is None or codecs.ENVELOPE not in checkpoint)
    ):
        return start  # the common case, on every attempt: nothing to decode
    args = codecs.decode_args_text(codec, start.args)
    if checkpoint is not None and (codec is not None or codecs.ENVELOPE in checkpoint):
        checkpoint = codecs.decode_text(codec, checkpoint)
    if args is start.args and checkpoint is start.checkpoint:
        return start
    return dataclasses.replace(start, args=args, checkpoint=checkpoint)


def encoded_outcome(outcome: AttemptOutcome, codec: PayloadCodec | None) -> AttemptOutcome:
    """The outcome with its result, details or failure details encoded (an inbox note stays readable)."""
    if codec is None:
        return outcome
    if outcome.kind in ("completed", "cancelled") and outcome.text is not None:
        return dataclasses.replace(outcome, text=codecs.encode_text(codec, outcome.text))
    if outcome.kind == "failed" and outcome.fault is not None and outcome.fault.get("details") is not None:
        fault = {**outcome.fault, "details": codecs.encode(codec, outcome.fault["details"])}
        return dataclasses.replace(outcome, fault=fault)
    return outcome


def encoded_details(text: str | None, codec: PayloadCodec | None) -> str | None:
    """Heartbeat details, encoded."""
    return text if text is None or codec is None else codecs.encode_text(codec, text)
