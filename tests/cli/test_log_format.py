"""--log-format: text lines carry the ids after the message; JSON lines carry them as fields."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
from collections.abc import Iterator

import pytest

from tether.cli import log_format
from tether.model.access import Access
from tether.service import access_log, auth


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


def _buffered() -> tuple[log_format.TurnBufferedHandler, io.StringIO, logging.Logger]:
    stream = io.StringIO()
    handler = log_format.TurnBufferedHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tests.buffered.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler, stream, logger


async def test_lines_made_on_the_event_loop_are_written_by_the_end_of_its_turn_in_order() -> None:
    handler, stream, logger = _buffered()
    logger.info("one")
    logger.debug("two")
    kept = stream.getvalue()
    await asyncio.sleep(0)  # the loop's next turn
    assert (kept, stream.getvalue()) == ("", "INFO one\nDEBUG two\n")

    logger.info("three")
    logger.warning("four")  # written at once, after what was kept
    assert stream.getvalue().endswith("INFO three\nWARNING four\n")
    logger.removeHandler(handler)


async def test_lines_of_other_threads_are_written_at_once_after_those_kept() -> None:
    handler, stream, logger = _buffered()
    logger.info("on the loop")
    await asyncio.to_thread(logger.info, "in a thread")
    assert stream.getvalue() == "INFO on the loop\nINFO in a thread\n"
    logger.removeHandler(handler)


async def test_flushing_writes_the_lines_kept_for_the_turn() -> None:
    handler, stream, logger = _buffered()
    logger.info("last words")
    handler.flush()  # as logging.shutdown does at exit
    assert stream.getvalue() == "INFO last words\n"
    logger.removeHandler(handler)


def test_configure_keeps_the_root_stream_and_its_level() -> None:
    root = logging.getLogger()
    kept, stream = root.handlers[:], io.StringIO()
    plain = logging.StreamHandler(stream)
    plain.setLevel(logging.INFO)
    root.handlers[:] = [plain]
    try:
        log_format.configure(log_format.Format.TEXT, log_format.Level.INFO)
        (handler,) = root.handlers
        assert isinstance(handler, log_format.TurnBufferedHandler)
        assert (handler.stream, handler.level) == (stream, logging.INFO)
        logging.getLogger("tether.tests").warning("seen")
        assert stream.getvalue().endswith(" WARNING tether.tests: seen\n")
    finally:
        root.handlers[:] = kept
        logging.getLogger("tether").setLevel(logging.NOTSET)


def test_a_text_line_has_the_time_as_logging_writes_it() -> None:
    made = record("x")
    for created in (made.created, made.created + 0.5, made.created + 1.25):
        made.created, made.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert log_format.TextFormatter().formatTime(made) == logging.Formatter().formatTime(made)
        formatter = log_format.TextFormatter()
        formatter.formatTime(made)
        assert formatter.formatTime(made) == logging.Formatter().formatTime(made)


def test_a_text_line_is_what_the_logging_format_gives_then_the_fields() -> None:
    made = logging.LogRecord("tether.service.access", logging.INFO, __file__, 1, "%s %d\nnext", ("POST", 200), None)
    made.__dict__.update(route="/v1/x", api_key=None)
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(made)
    head, _, rest = plain.partition("\n")
    assert log_format.TextFormatter().format(made) == f"{head} [route=/v1/x]\n{rest}"


class _Route:
    path_format = "/v1/activities/complete"


def _request(key: str | None) -> dict[str, object]:
    scope: dict[str, object] = {"type": "http", "method": "POST", "path": "/v1/activities/complete", "route": _Route()}
    if key is not None:
        auth.remember(scope, Access((), key_id="k-1", key_name=key))
    return scope


@contextlib.contextmanager
def _configured(log_format_: log_format.Format) -> Iterator[io.StringIO]:
    """The process's logging as ``tether server`` sets it up, on a stream of the test's."""
    root = logging.getLogger()
    kept, stream = root.handlers[:], io.StringIO()
    root.handlers[:] = [logging.StreamHandler(stream)]
    try:
        log_format.configure(log_format_, log_format.Level.INFO)
        access_log.direct = log_format.direct_lines()  # as tether server sets it
        yield stream
    finally:
        root.handlers[:] = kept
        logging.getLogger("tether").setLevel(logging.NOTSET)
        access_log.direct = None


@pytest.mark.parametrize("log_format_", list(log_format.Format))
@pytest.mark.parametrize("key", [None, "billing"])
async def test_an_access_line_written_directly_is_the_line_its_record_gives(
    log_format_: log_format.Format, key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_765_000_000.2379)  # the record's time and the direct line's
    with _configured(log_format_) as stream:
        writer = access_log.direct
        assert isinstance(writer, log_format.DirectLines)
        access_log.log(_request(key), 200, 0.00123)
        await asyncio.sleep(0)
        direct = stream.getvalue()
        stream.truncate(0), stream.seek(0)
        made: list[logging.LogRecord] = []

        def seen(record: logging.LogRecord) -> bool:
            made.append(record)
            return True

        monkeypatch.setattr(logging.getLogger().handlers[0], "filters", [seen])
        access_log.log(_request(key), 200, 0.00123)  # the handler's filter: the record's way
        await asyncio.sleep(0)
    assert [r.created for r in made] == [1_765_000_000.2379]
    assert direct == stream.getvalue()
    assert direct.count("\n") == 1
    assert "POST /v1/activities/complete 200 1.2 ms" in direct
    assert ("billing" in direct) == (key is not None)


def _refusing(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set up one way in which something besides tether's handler would see an access line's record."""
    access = logging.getLogger(access_log.logger.name)
    if case == "another handler":
        monkeypatch.setattr(logging.getLogger(), "handlers", [*logging.getLogger().handlers, logging.NullHandler()])
    elif case == "a handler on the way":
        monkeypatch.setattr(logging.getLogger("tether"), "handlers", [logging.NullHandler()])
    elif case == "a filter on the logger":
        monkeypatch.setattr(access, "filters", [lambda r: True])
    elif case == "a filter on the handler":
        monkeypatch.setattr(logging.getLogger().handlers[0], "filters", [lambda r: True])
    elif case == "a record factory":
        monkeypatch.setattr(logging, "_logRecordFactory", lambda *a, **k: logging.LogRecord(*a, **k))
    elif case == "not propagated":
        monkeypatch.setattr(logging.getLogger("tether"), "propagate", False)
    elif case == "a format of another's":
        monkeypatch.setattr(logging.getLogger().handlers[0], "formatter", logging.Formatter("%(message)s"))
    elif case == "a date format":
        monkeypatch.setattr(logging.getLogger().handlers[0].formatter, "datefmt", "%H:%M")
    elif case == "a disabled logger":
        monkeypatch.setattr(access, "disabled", True)
    else:
        raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "another handler",
        "a handler on the way",
        "a filter on the logger",
        "a filter on the handler",
        "a record factory",
        "not propagated",
        "a format of another's",
        "a date format",
        "a disabled logger",
    ],
)
def test_an_access_line_is_made_a_record_when_anything_else_would_see_it(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _configured(log_format.Format.TEXT) as stream:
        writer = access_log.direct
        assert writer is not None
        assert writer(access_log.logger, logging.INFO, "POST /v1/x 200 1.0 ms", {"route": "/v1/x"})
        written = stream.getvalue()  # no event loop here: written at once
        assert written.endswith(" INFO tether.service.access: POST /v1/x 200 1.0 ms [route=/v1/x]\n")
        _refusing(case, monkeypatch)
        assert not writer(access_log.logger, logging.INFO, "POST /v1/x 200 1.0 ms", {"route": "/v1/x"})
        assert stream.getvalue() == written


def test_only_tethers_own_handler_takes_lines_directly() -> None:
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers[:] = [logging.StreamHandler(io.StringIO()), logging.StreamHandler(io.StringIO())]
    try:
        log_format.configure(log_format.Format.TEXT, log_format.Level.INFO)
        assert log_format.direct_lines() is None  # two handlers: each record goes to both, the way logging hands it
    finally:
        root.handlers[:] = kept
        logging.getLogger("tether").setLevel(logging.NOTSET)
        access_log.direct = None
