"""``--log-format`` and ``--log-level`` of ``tether server`` and ``tether worker``: text lines or JSON lines.

In JSON, each record is one object on one line: time, level, logger, message, and every
field its ``extra`` carried (``execution_id``, ``activity``, ``attempt``, ``api_key``, ...).
In text, those fields follow the message as ``name=value``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer


class Format(StrEnum):
    """How log records are written."""

    TEXT = "text"
    JSON = "json"


class Level(StrEnum):
    """The least severe records of tether's loggers that are written."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"


LogFormat = Annotated[Format, typer.Option("--log-format", help="Log lines as text, or one JSON object per line.")]
LogLevel = Annotated[
    Level, typer.Option("--log-level", help="debug: a line per state change; info: and per request; warning: problems.")
]

_STANDARD = {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime", "taskName"}
"""The attributes every record has; any other came from ``extra``."""


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, its ``extra`` fields as members."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The time, level, logger and message, then the ``extra`` fields as ``name=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        line = super().format(record)
        fields = _fields(record)
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        shown = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} [{shown}]{newline}{rest}"


def configure(log_format: Format, level: Level) -> None:
    """Write the process's log records in ``log_format``, tether's from ``level`` up."""
    formatter: logging.Formatter = JsonFormatter() if log_format == Format.JSON else TextFormatter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(formatter)
    logging.getLogger("tether").setLevel(level.value.upper())
