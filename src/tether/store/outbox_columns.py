"""The columns of the outbox and of notification sinks, as both backends name and read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.store.rows import SinkRow

OUTBOX_COLUMNS = (
    "delivery_id, execution_id, activity_id, attempt, event, url, payload, state, tries, next_try_at_ms, "
    "last_error, created_at_ms, updated_at_ms, owner, leased_until_ms"
)
SINK_COLUMNS = "sink_id, url, secret, every_inbox_item, created_at_ms, disabled_at_ms"
OUTBOX_FIELDS = frozenset(
    {"state", "tries", "next_try_at_ms", "last_error", "updated_at_ms", "owner", "leased_until_ms"}
)
"""The outbox columns ``update_outbox`` sets."""
SINK_FIELDS = frozenset({"secret", "every_inbox_item", "disabled_at_ms"})
"""The sink columns ``update_sink`` sets."""


def sink_row(row: Sequence[Any]) -> SinkRow:
    """A sink as the database returned it (SQLite's flag is an integer)."""
    return SinkRow(row[0], row[1], row[2], bool(row[3]), row[4], row[5])
