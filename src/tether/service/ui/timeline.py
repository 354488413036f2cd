"""The execution timeline: activities and timers over time, laid out from the history for an SVG chart.

Each attempt is a bar (running, then waiting async when it went async), a retry's back-off
is the gap before the next bar, and timeouts, failures and cancellations mark the bar's end.
Heartbeats are ticks: those the history records (a workflow watching progress) and the last
one of each open activity. Positions are fractions of the chart's width, so the template only scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tether.model.clock import to_ms
from tether.model.records import HistoryEvent, WorkflowDescription


@dataclass
class Segment:
    """One stretch of a row: an attempt running or waiting, a retry back-off, or a timer."""

    start_ms: int
    end_ms: int | None
    kind: str
    """running | async | backoff | timer"""
    label: str
    x: float = 0.0
    width: float = 0.0


@dataclass
class Mark:
    """A point on a row: a heartbeat, or how a segment ended."""

    at_ms: int
    kind: str
    """heartbeat | completed | failed | timed_out | cancelled | fired"""
    label: str
    x: float = 0.0


@dataclass
class Row:
    """One activity or timer."""

    key: int
    label: str
    segments: list[Segment] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Timeline:
    """Rows over a time span; ``ticks`` are axis labels (fraction, text)."""

    rows: list[Row]
    start_ms: int
    end_ms: int
    ticks: list[tuple[float, str]]


def _ms(value: datetime) -> int:
    return to_ms(value)


def build(history: Sequence[HistoryEvent], description: WorkflowDescription, now: datetime) -> Timeline:
    """Lay out the timeline of an execution up to ``now`` (or its close)."""
    rows: dict[int, Row] = {}
    open_segment: dict[int, Segment] = {}

    def row(key: int, label: str) -> Row:
        return rows.setdefault(key, Row(key, label))

    def close(key: int, at: int) -> None:
        segment = open_segment.pop(key, None)
        if segment is not None:
            segment.end_ms = at

    for event in history:
        at, data = _ms(event.at), event.data
        key = data.get("activity_id", data.get("timer_id"))
        if not isinstance(key, int):
            continue
        match event.type:
            case "ActivityScheduled":
                row(key, f"#{key} {data.get('name', '')}")
            case "ActivityAttemptStarted":
                close(key, at)
                segment = Segment(at, None, "running", f"attempt {data.get('attempt')}")
                row(key, f"#{key}").segments.append(segment)
                open_segment[key] = segment
            case "ActivityWentAsync":
                close(key, at)
                segment = Segment(at, None, "async", f"attempt {data.get('attempt')} waiting for its token")
                row(key, f"#{key}").segments.append(segment)
                open_segment[key] = segment
            case "ActivityHeartbeat":
                row(key, f"#{key}").marks.append(Mark(at, "heartbeat", "heartbeat"))
            case "ActivityAttemptFailed":
                close(key, at)
                failure = data.get("failure") or {}
                kind = "timed_out" if failure.get("error") == "ActivityTimeout" else "failed"
                text = f"attempt {data.get('attempt')}: {failure.get('error')} {failure.get('message', '')}".strip()
                row(key, f"#{key}").marks.append(Mark(at, kind, text))
                retry_at = data.get("retry_at_ms")
                if isinstance(retry_at, int):
                    segment = Segment(at, None, "backoff", "retry back-off")
                    row(key, f"#{key}").segments.append(segment)
                    open_segment[key] = segment
            case "ActivityCompleted" | "ActivityFailed" | "ActivityTimedOut" | "ActivityCancelled":
                close(key, at)
                kind = {
                    "ActivityCompleted": "completed",
                    "ActivityFailed": "failed",
                    "ActivityTimedOut": "timed_out",
                    "ActivityCancelled": "cancelled",
                }[event.type]
                row(key, f"#{key}").marks.append(Mark(at, kind, event.type))
            case "TimerStarted":
                segment = Segment(at, data.get("due_at_ms"), "timer", "sleep")
                row(key, f"sleep #{key}").segments.append(segment)
                open_segment[key] = segment
            case "TimerFired" | "TimerCancelled":
                close(key, at)
                kind = "fired" if event.type == "TimerFired" else "cancelled"
                row(key, f"sleep #{key}").marks.append(Mark(at, kind, event.type))
    for pending in description.pending_activities:
        if pending.last_heartbeat_at is not None and pending.activity_id in rows:
            heartbeat = _ms(pending.last_heartbeat_at)
            marks = rows[pending.activity_id].marks
            if all(m.at_ms != heartbeat for m in marks):
                marks.append(Mark(heartbeat, "heartbeat", "last heartbeat"))
    start = _ms(description.started_at)
    end = _ms(description.closed_at) if description.closed_at is not None else max(_ms(now), start)
    times = [start, end]
    for item in rows.values():
        times.extend(s.start_ms for s in item.segments)
        times.extend(m.at_ms for m in item.marks)
    end = max(max(times), start + 1)
    return _place(list(rows.values()), start, end)


def _place(rows: list[Row], start: int, end: int) -> Timeline:
    span = end - start

    def x(at: int) -> float:
        return round(min(max((at - start) / span, 0.0), 1.0), 5)

    for item in rows:
        for segment in item.segments:
            # An open segment (still running or waiting) reaches the right edge: now.
            segment.x = x(segment.start_ms)
            # Instant segments stay visible: a sliver, kept inside the chart.
            segment.width = max(x(segment.end_ms if segment.end_ms is not None else end) - segment.x, 0.002)
            segment.x = min(segment.x, 1.0 - segment.width)
        for mark in item.marks:
            mark.x = x(mark.at_ms)
    ticks = [(i / 4, _duration(round(span * i / 4))) for i in range(5)]
    return Timeline(rows, start, end, ticks)


def _duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.1f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"
