"""``--log-format`` and ``--log-level`` of ``tether server`` and ``tether worker``: text lines or JSON lines.

In JSON, each record is one object on one line: time, level, logger, message, and every
field its ``extra`` carried (``execution_id``, ``activity``, ``attempt``, ``api_key``, ...).
In text, those fields follow the message as ``name=value``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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
        self._second: tuple[int, str] = (-1, "")
        """The last second whose time was written, as written: a server logs many lines a second."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: D102, N802
        if datefmt is not None or self.converter is not time.localtime:
            return super().formatTime(record, datefmt)
        second, text = self._second
        if second != int(record.created):
            second = int(record.created)
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, record.msecs) if self.default_msec_format else text

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        if record.exc_info or record.exc_text or record.stack_info or type(self._style) is not logging.PercentStyle:
            line = super().format(record)
        else:  # what Formatter.format does with this format and no traceback, in fewer steps (a line per request)
            record.message = record.getMessage()
            record.asctime = self.formatTime(record, self.datefmt)
            line = "%s %s %s: %s" % (record.asctime, record.levelname, record.name, record.message)  # noqa: UP031
        fields = _fields(record)
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        shown = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} [{shown}]{newline}{rest}"


class TurnBufferedHandler(logging.StreamHandler):  # type: ignore[type-arg]  # a text stream, as StreamHandler's
    """A stream handler that writes the INFO and DEBUG lines of an event loop's thread once per turn of the loop.

    A server logs a line per request; a write per line costs a system call, and gives the
    interpreter's lock to the store's thread and back. Lines made on a running event loop's
    thread are kept until the end of the loop's turn (the next time it runs its callbacks),
    then written together. Records of WARNING and above, and those of other threads or of no
    loop, are written at once, after what is kept, so lines keep their order. Flushing the
    handler (``logging.shutdown`` does at exit) writes what is kept.
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._kept: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None
        """The loop whose next turn writes what is kept (a stopped loop may never run it: another loop's turn does)."""

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102  # called holding the handler's lock
        try:
            self._kept.append(self.format(record) + self.terminator)
            if record.levelno < logging.WARNING:
                loop = _running_loop()
                if loop is not None:
                    if self._flush_on is not loop:
                        self._flush_on = loop
                        loop.call_soon(self.flush)
                    return
            self._write()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def flush(self) -> None:  # noqa: D102
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            self._flush_on = None
            try:
                self._write()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": "log lines kept for the loop's turn"}))

    def _write(self) -> None:
        kept = "".join(self._kept)
        self._kept.clear()
        if kept:
            self.stream.write(kept)
        if hasattr(self.stream, "flush"):
            self.stream.flush()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def configure(log_format: Format, level: Level) -> None:
    """Write the process's log records in ``log_format``, tether's from ``level`` up.

    The root's plain stream handlers are replaced by a :class:`TurnBufferedHandler` on the same stream.
    """
    formatter: logging.Formatter = JsonFormatter() if log_format == Format.JSON else TextFormatter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for index, handler in enumerate(root.handlers):
        if type(handler) is logging.StreamHandler:
            buffered = TurnBufferedHandler(handler.stream)
            buffered.setLevel(handler.level)
            buffered.filters = handler.filters
            root.handlers[index] = buffered
            handler.close()
    for handler in root.handlers:
        handler.setFormatter(formatter)
    logging.getLogger("tether").setLevel(level.value.upper())
