"""Published values: the rules their names follow, wherever a name is given (workflow code, client, HTTP)."""

from __future__ import annotations

from datetime import timedelta

from tether.errors import InvalidPayload, UsageError
from tether.model.clock import duration_ms
from tether.model.wire import MAX_TIMEOUT_SECONDS, MAX_VERSION

NAME_LIMIT = 256
"""The longest name of a published value, in characters."""

DESCRIBED_VALUE_LIMIT = 1024
"""The longest value (as JSON text, in characters) a description shows; larger ones are read one at a time."""


def check_name(name: object) -> str:
    """The name of a published value, once it is one.

    A name is a printable string of 1 to 256 characters without '/': it stands in an HTTP
    path (``/v1/published/{name}/{id}``) before the execution id, which may hold '/'.

    Raises:
        InvalidPayload: the name is not one.
    """
    if not isinstance(name, str) or not name or len(name) > NAME_LIMIT or not name.isprintable() or "/" in name:
        problem = f"must be a printable string of 1 to {NAME_LIMIT} characters without '/'"
        raise InvalidPayload(
            f"a published value's name {problem}, not {name!r:.300}", errors=[{"loc": ["name"], "msg": problem}]
        )
    return name


def check_after(after: object) -> int | None:
    """The version a reader has seen (``after=``), once it is one: None, or a whole number from 0.

    Raises:
        InvalidPayload: it is not.
    """
    if after is None:
        return None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_VERSION:
        problem = f"must be a version: a whole number from 0 to {MAX_VERSION}"
        raise InvalidPayload(f"after {problem}, not {after!r:.100}", errors=[{"loc": ["after"], "msg": problem}])
    return after


def wait_ms(wait: object) -> int:
    """Milliseconds of a reader's ``wait=`` (a timedelta or seconds; None: no wait).

    Raises:
        UsageError: it is not a duration from 0 to a century.
    """
    if wait is None:
        return 0
    if isinstance(wait, bool) or not isinstance(wait, timedelta | int | float):
        raise UsageError("wait must be a timedelta or a number of seconds")
    seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
    if not 0 <= seconds <= MAX_TIMEOUT_SECONDS:  # NaN and infinities included
        raise UsageError("wait must be from 0 to a century")
    return duration_ms(wait)
