"""A durable, cross-process work queue: one SQLite table in its own file, claim then ack.

It stands in for whatever carries work to the people or services that finish activities
(a message broker, a ticket system, an e-mail with a link). A claimed message that is not
acknowledged within its lease is delivered again, so a reviewer that dies mid-review loses
nothing: the next one picks the message up.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    claimed_until REAL,
    deliveries INTEGER NOT NULL DEFAULT 0,
    acked_at REAL
)
"""


@dataclass(frozen=True, slots=True)
class Message:
    """One claimed message."""

    id: int
    body: dict[str, Any]
    deliveries: int


class ReviewQueue:
    """Messages in a SQLite file shared by every process that opens the same path.

    Every call opens its own connection, so one queue object may be used from any thread.
    """

    def __init__(self, path: str | Path, *, lease: timedelta = timedelta(seconds=30)) -> None:
        self.path = Path(path)
        self._lease = lease.total_seconds()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def put(self, body: dict[str, Any]) -> int:
        """Append a message; it is durable when this returns."""
        with closing(self._connect()) as conn:
            cursor = conn.execute("INSERT INTO messages (body) VALUES (?)", (json.dumps(body),))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def claim(self) -> Message | None:
        """Take the oldest message nobody holds, for the length of the lease; None if there is none."""
        now = time.time()
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT id, body, deliveries FROM messages WHERE acked_at IS NULL "
                    "AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY id LIMIT 1",
                    (now,),
                ).fetchone()
                if row is not None:
                    conn.execute(
                        "UPDATE messages SET claimed_until = ?, deliveries = deliveries + 1 WHERE id = ?",
                        (now + self._lease, row[0]),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if row is None:
            return None
        return Message(id=row[0], body=json.loads(row[1]), deliveries=row[2] + 1)

    def ack(self, message_id: int) -> None:
        """Mark a claimed message as done; it is never delivered again."""
        with closing(self._connect()) as conn:
            conn.execute("UPDATE messages SET acked_at = ? WHERE id = ?", (time.time(), message_id))
