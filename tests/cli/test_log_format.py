"""--log-format: text lines carry the ids after the message; JSON lines carry them as fields."""

from __future__ import annotations

import asyncio
import io
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
