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


_JSON = json.JSONEncoder(default=str, ensure_ascii=False)
"""What ``json.dumps(..., default=str, ensure_ascii=False)`` does, without making an encoder per line."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, its ``extra`` fields as members."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self._line(
            record.created, record.levelname, record.name, record.getMessage(), _fields(record), exception
        )

    def line(self, created: float, level: int, name: str, message: str, fields: dict[str, Any]) -> str:
        """A record's line, made at ``created``, no traceback, ``fields`` those with a value (see DirectLines)."""
        return self._line(created, logging.getLevelName(level), name, message, fields, None)

    @staticmethod
    def _line(
        created: float, levelname: str, name: str, message: str, fields: dict[str, Any], exception: str | None
    ) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
            "level": levelname,
            "logger": name,
            "message": message,
            **fields,
        }
        if exception is not None:
            out["exception"] = exception
        return _JSON.encode(out)


class TextFormatter(logging.Formatter):
    """The time, level, logger and message, then the ``extra`` fields as ``name=value``."""

    def __init__(self) -> None:
        super().__init__(_TEXT)
        self._second: tuple[int, str] = (-1, "")
        """The last second whose time was written, as written: a server logs many lines a second."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: D102, N802
        if datefmt is not None or self.converter is not time.localtime:
            return super().formatTime(record, datefmt)
        return self._time(record.created, record.msecs)

    def _time(self, created: float, msecs: float) -> str:
        """``formatTime``'s text with the default format and local time."""
        second, text = self._second
        if second != int(created):
            second = int(created)
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return self.default_msec_format % (text, msecs) if self.default_msec_format else text

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        if record.exc_info or record.exc_text or record.stack_info or not self._plain():
            line = super().format(record)
        else:  # what Formatter.format does with this format and no traceback, in fewer steps (a line per request)
            record.message = record.getMessage()
            record.asctime = self.formatTime(record, self.datefmt)
            line = "%s %s %s: %s" % (record.asctime, record.levelname, record.name, record.message)  # noqa: UP031
        return _with_fields(line, _fields(record))

    def line(self, created: float, level: int, name: str, message: str, fields: dict[str, Any]) -> str | None:
        """A record's line, made at ``created``, no traceback, ``fields`` those with a value (see DirectLines).

        None if its format or its time was changed after it was set up.
        """
        if not self._plain() or self.datefmt is not None or self.converter is not time.localtime:
            return None
        asctime = self._time(created, int((created - int(created)) * 1000) + 0.0)  # as LogRecord reckons msecs
        line = "%s %s %s: %s" % (asctime, logging.getLevelName(level), name, message)  # noqa: UP031
        return _with_fields(line, fields)

    def _plain(self) -> bool:
        """Whether the format is still the one set here (as a percent-style format)."""
        return type(self._style) is logging.PercentStyle and self._fmt == _TEXT


_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _with_fields(line: str, fields: dict[str, Any]) -> str:
    """A text line with the record's ``extra`` fields after its message, before any traceback."""
    if not fields:
        return line
    head, newline, rest = line.partition("\n")
    shown = " ".join([f"{k}={v}" for k, v in fields.items()])
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
            self.keep(self.format(record), record.levelno)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def keep(self, line: str, level: int) -> None:
        """Keep a formatted line for the loop's turn, or write it now (see the class); hold the handler's lock."""
        self._kept.append(line + self.terminator)
        if level < logging.WARNING:
            loop = _running_loop()
            if loop is not None:
                if self._flush_on is not loop:
                    self._flush_on = loop
                    loop.call_soon(self.flush)
                return
        self._write()

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


class DirectLines:
    """Writes a line of tether's own straight to the handler that would write it, without a ``LogRecord``.

    A server logs a line per request: making a record and passing it through logging's layers
    to the handler costs about as much as the hand-off of a heartbeat to the store. When
    nothing but that handler would see the record (the default record factory, no filter on
    the logger, no handler on the way to the root but this one, a format set here), the line
    written here is the one the handler would have written from the record. Otherwise the call
    returns False and its caller makes the record, as always.
    """

    def __init__(self, handler: TurnBufferedHandler) -> None:
        self._handler = handler
        self._root = logging.getLogger()

    def __call__(self, logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> bool:
        """Write the line of a record ``logger`` would make of ``message`` with ``fields`` as its ``extra``.

        The caller has checked that ``logger`` is enabled for ``level``.
        """
        handler = self._handler
        if logging.getLogRecordFactory() is not logging.LogRecord or logger.disabled or logger.filters:
            return False
        root, on_the_way = self._root, logger
        while on_the_way is not root:
            if on_the_way.handlers or not on_the_way.propagate or on_the_way.parent is None:
                return False
            on_the_way = on_the_way.parent
        handlers = root.handlers
        if len(handlers) != 1 or handlers[0] is not handler or handler.filters or level < handler.level:
            return False
        formatter = handler.formatter
        # These two exactly: a subclass may format records otherwise.
        if not isinstance(formatter, (TextFormatter, JsonFormatter)) or type(formatter) not in _OWN_FORMATS:
            return False
        shown = {k: v for k, v in fields.items() if v is not None}  # as a record's are (see _fields)
        line = formatter.line(time.time(), level, logger.name, message, shown)
        if line is None:
            return False
        with handler.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            try:
                handler.keep(line, level)
            except Exception:
                handler.handleError(logging.makeLogRecord({"name": logger.name, "msg": message, "levelno": level}))
        return True


_OWN_FORMATS = (TextFormatter, JsonFormatter)


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


def direct_lines() -> DirectLines | None:
    """Lines written straight to the root's handler when it is its only one and :func:`configure` set it."""
    handlers = logging.getLogger().handlers
    only = handlers[0] if len(handlers) == 1 else None
    return DirectLines(only) if isinstance(only, TurnBufferedHandler) else None
