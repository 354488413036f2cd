"""SQLite queries of worker liveness, the workflow registry, the signing keys and the API keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from tether.store.rows import ApiKeyRow
from tether.store.sqlite import pending as sqlite_pending

_API_KEY_COLUMNS = "key_id, name, secret_hash, scopes, created_at_ms, revoked_at_ms, sigv4_secret"


class ApiKeyReadQueries:
    """The API key reads of a request's authentication, on any connection (see ``Store.read_committed``)."""

    _conn: sqlite3.Connection

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:  # noqa: D102
        row = self._conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return ApiKeyRow(*row) if row is not None else None

    def has_active_api_keys(self) -> bool:  # noqa: D102
        return self._conn.execute("SELECT 1 FROM api_keys WHERE revoked_at_ms IS NULL LIMIT 1").fetchone() is not None


class RegistryQueries(ApiKeyReadQueries):
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about workers, names and keys."""

    _conn: sqlite3.Connection
    pending: sqlite_pending.PendingWrites
    _write: Callable[[], None]
    """Called before every statement that writes (the transaction opens its pending savepoints)."""

    # worker liveness

    def renew_worker(self, owner: str, lease_until_ms: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "INSERT INTO workers (owner, lease_until_ms) VALUES (?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET lease_until_ms = excluded.lease_until_ms",
            (owner, lease_until_ms),
        )

    def remove_worker(self, owner: str) -> None:  # noqa: D102
        self._write()
        self._conn.execute("DELETE FROM workers WHERE owner = ?", (owner,))

    def attempts_of_lost_workers(self, now_ms: int, alive: str, limit: int) -> list[tuple[str, int, int]]:  # noqa: D102
        self.pending.flush_activities()
        rows = self._conn.execute(
            "SELECT a.execution_id, a.activity_id, a.attempt FROM activities a "
            "LEFT JOIN workers w ON w.owner = a.worker "
            "WHERE a.state = 'running' AND a.worker IS NOT NULL AND a.worker != ? "
            "AND (w.owner IS NULL OR w.lease_until_ms <= ?) LIMIT ?",
            (alive, now_ms, limit),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def attempts_of_worker(self, owner: str) -> list[tuple[str, int, int]]:  # noqa: D102
        self.pending.flush_activities()
        rows = self._conn.execute(
            "SELECT execution_id, activity_id, attempt FROM activities WHERE state = 'running' AND worker = ?",
            (owner,),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def next_worker_expiry_ms(self, now_ms: int, alive: str) -> int | None:  # noqa: D102
        self.pending.flush_activities()
        (due,) = self._conn.execute(
            "SELECT min(w.lease_until_ms) FROM workers w WHERE w.owner != ? AND w.lease_until_ms > ? "
            "AND EXISTS (SELECT 1 FROM activities a WHERE a.state = 'running' AND a.worker = w.owner)",
            (alive, now_ms),
        ).fetchone()
        return int(due) if due is not None else None

    # registry and keys

    def register_workflows(self, names: Iterable[str]) -> None:  # noqa: D102
        self._write()
        self._conn.executemany("INSERT OR IGNORE INTO known_workflows (name) VALUES (?)", [(n,) for n in names])

    def is_known_workflow(self, name: str) -> bool:  # noqa: D102
        return self._conn.execute("SELECT 1 FROM known_workflows WHERE name = ?", (name,)).fetchone() is not None

    def signing_keys(self) -> dict[int, bytes]:  # noqa: D102
        return {k: bytes(s) for k, s in self._conn.execute("SELECT key_id, secret FROM signing_keys")}

    def insert_signing_key(self, key_id: int, secret: bytes, created_at_ms: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "INSERT OR IGNORE INTO signing_keys (key_id, secret, created_at_ms) VALUES (?,?,?)",
            (key_id, secret, created_at_ms),
        )

    # API keys

    def insert_api_key(self, row: ApiKeyRow) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            f"INSERT INTO api_keys ({_API_KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
            (row.key_id, row.name, row.secret_hash, row.scopes, row.created_at_ms, row.revoked_at_ms, row.sigv4_secret),
        )

    def list_api_keys(self) -> list[ApiKeyRow]:  # noqa: D102
        rows = self._conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, key_id")
        return [ApiKeyRow(*r) for r in rows]

    def revoke_api_key(self, key_id: str, at_ms: int) -> bool:  # noqa: D102
        self._write()
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at_ms = ? WHERE key_id = ? AND revoked_at_ms IS NULL", (at_ms, key_id)
        )
        return cursor.rowcount > 0

    def set_api_key_sigv4(self, key_id: str, sealed: str) -> bool:  # noqa: D102
        self._write()
        cursor = self._conn.execute(
            "UPDATE api_keys SET sigv4_secret = ? WHERE key_id = ? AND revoked_at_ms IS NULL", (sealed, key_id)
        )
        return cursor.rowcount > 0
