"""Why an overdue activity is overdue, in words: what the CLI's table and the web UI's page both show."""

from __future__ import annotations

from tether.model.records import OverdueActivity

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000))


def span(ms: int) -> str:
    """A duration in its largest unit and the next one, as ``--waiting-longer-than`` takes them: ``3d 2h``, ``30m``."""
    rest = max(ms, 0)
    for i, (unit, size) in enumerate(_UNITS):
        if rest >= size or unit == "s":
            text = f"{rest // size}{unit}"
            if i + 1 < len(_UNITS) and (rest % size) // _UNITS[i + 1][1]:
                text += f" {(rest % size) // _UNITS[i + 1][1]}{_UNITS[i + 1][0]}"
            return text
    raise AssertionError("unreachable: the last unit always answers")


def why(item: OverdueActivity) -> list[str]:
    """One line for each reason ``item`` is overdue, e.g. ``waiting 3d 0h, longer than 2d (its overdue_after)``."""
    lines = []
    if "waiting" in item.reasons and item.overdue_after_ms is not None:
        limit = "its overdue_after" if item.own_overdue_after else "the default"
        lines.append(f"waiting {span(item.waited_ms)}, longer than {span(item.overdue_after_ms)} ({limit})")
    if "deadline" in item.reasons and item.deadline is not None:
        now_ms = round(item.waiting_since.timestamp() * 1000) + item.waited_ms
        left = round(item.deadline.timestamp() * 1000) - now_ms
        when = f"in {span(left)}" if left > 0 else f"passed {span(-left)} ago"
        lines.append(f"{item.deadline_kind} deadline {when}")
    return lines
