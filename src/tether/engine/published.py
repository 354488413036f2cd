"""Published values: what ``tether.publish`` records, and how clients and descriptions read them.

A publish is a workflow command (``ValuePublished``, ``{"name", "value"}``) recorded in the
task that published it; carrying it out stores the value as the execution's last of that
name, one version more than before, and wakes the long polls waiting on the ``messages``
topic (in this process, and through the store's notices in others). A continued run starts
with the values of the run before it, versions included, so that reading by the chain's id
finds the latest value whichever run published it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.model import payloads
from tether.model.clock import from_ms
from tether.model.published import DESCRIBED_VALUE_LIMIT
from tether.model.records import Published, PublishedValue
from tether.store.base import Transaction

TOPIC = "messages"
"""The notifier and store topic a publish wakes: what long polls on published values (and replies) wait on."""


def record(tx: Transaction, execution_id: str, data: dict[str, Any], parts: Mapping[str, str], now_ms: int) -> None:
    """Carry out a ``ValuePublished`` command of a workflow task of ``execution_id``."""
    value = parts.get("value") or payloads.json_text(data["value"])
    tx.publish_value(execution_id, data["name"], value, now_ms)
    tx.wake(TOPIC)


def carry_over(tx: Transaction, from_id: str, to_id: str) -> None:
    """Give the next run of a chain the values its previous run holds (continue-as-new)."""
    tx.copy_published_values(from_id, to_id)


def of(tx: Transaction, run_id: str, name: str) -> Published | None:
    """The last value ``name`` a run holds, if any."""
    row = tx.published_value(run_id, name)
    if row is None:
        return None
    return Published(payloads.parse(row.value), row.version, from_ms(row.published_at_ms))


def described(tx: Transaction, execution_id: str) -> list[PublishedValue]:
    """The values a run holds, as its description lists them (large values left out)."""
    listed = []
    for row in tx.published_values(execution_id):
        small = len(row.value) <= DESCRIBED_VALUE_LIMIT
        listed.append(
            PublishedValue(
                row.name, row.version, from_ms(row.published_at_ms),
                payloads.parse(row.value) if small else None, value_omitted=not small,
            )
        )  # fmt: skip
    return listed
