"""When a schedule's occurrences fall: its cron expression read in its time zone (cronsim, zoneinfo).

Expressions have five fields (minute, hour, day of month, month, day of week) or six (a
leading seconds field), with the names and ``L``/``W``/``#`` forms cronsim reads. Around
daylight-saving changes they behave as Debian's cron does (cronsim follows it), for an
expression whose minute and hour fields are both fixed (``30 2 * * *``):

- a time that does not exist that day (02:30 when clocks jump from 02:00 to 03:00) fires
  once, at the first time that exists after the gap (03:00);
- a time that happens twice (01:30 when clocks fall back from 02:00 to 01:00) fires once,
  at its first happening (the earlier, daylight-saving one).

An expression with ``*`` in its minute or hour field (``*/30 * * * *``) runs on the clock
as it reads: it skips the times the gap removes and fires in both happenings of the
repeated hour. Times are integer UTC milliseconds everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from tether.errors import InvalidPayload


def zone(timezone: str) -> ZoneInfo:
    """The IANA time zone of this name.

    Raises:
        InvalidPayload: no such time zone.
    """
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise _invalid("timezone", f"{timezone!r} is not an IANA time zone name (e.g. Europe/Berlin or UTC)") from None


def check(cron: str, timezone: str, now_ms: int) -> None:
    """Refuse an expression cronsim cannot read or a time zone zoneinfo does not know.

    Raises:
        InvalidPayload: naming ``cron`` or ``timezone``.
    """
    tz = zone(timezone)
    try:
        CronSim(cron, _local(now_ms, tz))
    except (CronSimError, ValueError, IndexError, KeyError) as exc:
        raise _invalid("cron", f"{cron!r} is not a cron expression: {exc}") from None


def next_after(cron: str, timezone: str, after_ms: int) -> int | None:
    """The first occurrence strictly after ``after_ms`` (None: the expression names no later time)."""
    it = CronSim(cron, _local(after_ms, zone(timezone)))
    try:
        return _ms(next(it))
    except StopIteration:
        return None


def latest_at_or_before(cron: str, timezone: str, at_ms: int) -> int | None:
    """The last occurrence at ``at_ms`` or before it (None: none in the past fifty years)."""
    # cronsim counts back from the second before the one it is given: start a second later.
    start = _local((at_ms // 1000 + 1) * 1000, zone(timezone))
    try:
        return _ms(next(CronSim(cron, start, reverse=True)))
    except StopIteration:
        return None


def _local(at_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at_ms // 1000, UTC).astimezone(tz)


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _invalid(field: str, problem: str) -> InvalidPayload:
    return InvalidPayload(problem, errors=[{"loc": [field], "msg": problem}])
