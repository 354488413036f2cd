"""--log-format: text lines carry the ids after the message; JSON lines carry them as fields."""

from __future__ import annotations

import json
import logging

from tether.cli import log_format


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("tether.transitions", logging.WARNING, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_a_text_line_names_the_ids_after_the_message() -> None:
    line = log_format.TextFormatter().format(record("attempt failed", execution_id="e-1", attempt=2, api_key=None))
    assert line.endswith(" WARNING tether.transitions: attempt failed [execution_id=e-1 attempt=2]")


def test_a_json_line_is_one_object_with_the_ids_as_fields() -> None:
    line = log_format.JsonFormatter().format(record("attempt failed", execution_id="e-1", attempt=2))
    assert "\n" not in line
    parsed = json.loads(line)
    assert {k: parsed[k] for k in ("level", "logger", "message", "execution_id", "attempt")} == {
        "level": "WARNING",
        "logger": "tether.transitions",
        "message": "attempt failed",
        "execution_id": "e-1",
        "attempt": 2,
    }
