"""Numbered, forward-only migrations of the PostgreSQL schema, applied on open.

Every table lives in the ``tether`` schema, so that tether can share a database with the
application. Several processes may open a fresh database at once: the migrations run in
one transaction under an advisory lock, so exactly one of them applies each step and the
others find it done. The numbering is this backend's own (SQLite's migrations differ).

1: the whole schema of the SQLite store's migrations 1-3. Flags are booleans, times are
   ``BIGINT`` milliseconds given by the engine (SQL never reads the clock).
2: API keys of the server (a SHA-256 hash of each secret, never the secret), as SQLite's 4.
3: for the web UI, as SQLite's 5: listings by workflow name, the waiting (async) activities in
   the order they began to wait, and an ``inbox`` flag on activities a person finishes.
4: what an activity that asked for a person at run time (``ctx.inbox``) shows, as SQLite's 7.
8: closed executions by the time they closed, for retention, as SQLite's 8 (numbered alike from here on).
9: links between executions (runs of a continued execution, children of a parent), as SQLite's 9.
10: messages and requests sent to executions, and the schemas of their payloads, as SQLite's 10.
11: published values (``tether.publish``), as SQLite's 11; independent of the others, it applies after 9 or 10.
12: the sealed SigV4 secret an API key may have, as SQLite's 12.
13: notifications out (sinks and the outbox), as SQLite's 13; tables of their own, it applies whatever came before.
14: schedules and the latest fires of each, as SQLite's 14; tables of their own, it applies whatever came before.
15: flow control (priorities, recent starts, and a row per limited activity type that claimers lock), as SQLite's 15.
17: the overdue view: waiting activities by when their own waiting age limit runs out, as SQLite's 17.
19: the open activities of each execution (PostgreSQL's own): reading them, as a transition that may close
   its execution does with its first lock, walks those rather than every activity the execution ever had.
"""

from __future__ import annotations

from typing import Any

import psycopg

SCHEMA = "tether"

# An arbitrary constant: the key of the advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x7E7E_0001

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE executions (
            id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            status TEXT NOT NULL,
            input TEXT NOT NULL,
            result TEXT,
            error TEXT,
            created_at_ms BIGINT NOT NULL,
            closed_at_ms BIGINT,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            task_error TEXT,
            last_seq BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX executions_by_status ON executions (status, created_at_ms);
        CREATE INDEX executions_by_created ON executions (created_at_ms);
        CREATE INDEX executions_with_task_error ON executions (id) WHERE task_error IS NOT NULL;
        CREATE TABLE events (
            execution_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            at_ms BIGINT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (execution_id, seq)
        );
        CREATE TABLE activities (
            execution_id TEXT NOT NULL,
            activity_id BIGINT NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            args TEXT NOT NULL,
            options TEXT NOT NULL,
            scheduled_at_ms BIGINT NOT NULL,
            attempt_started_at_ms BIGINT,
            last_heartbeat_at_ms BIGINT,
            heartbeat_details TEXT,
            checkpoint TEXT,
            last_failure TEXT,
            cancel_requested BOOLEAN NOT NULL DEFAULT false,
            watch_heartbeats BOOLEAN NOT NULL DEFAULT false,
            result TEXT,
            closed_at_ms BIGINT,
            worker TEXT,
            PRIMARY KEY (execution_id, activity_id)
        );
        CREATE INDEX activities_running_by_worker ON activities (worker) WHERE state = 'running';
        CREATE TABLE timers (
            execution_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            due_at_ms BIGINT NOT NULL,
            PRIMARY KEY (execution_id, kind, ref)
        );
        CREATE INDEX timers_by_due ON timers (due_at_ms);
        CREATE TABLE workflow_tasks (
            execution_id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            ready_at_ms BIGINT NOT NULL,
            leased_until_ms BIGINT NOT NULL DEFAULT 0,
            owner TEXT,
            dirty BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX workflow_tasks_by_owner ON workflow_tasks (owner) WHERE owner IS NOT NULL;
        CREATE TABLE activity_tasks (
            id BIGSERIAL PRIMARY KEY,
            execution_id TEXT NOT NULL,
            activity_id BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (execution_id, activity_id)
        );
        CREATE TABLE known_workflows (name TEXT PRIMARY KEY);
        CREATE TABLE signing_keys (
            key_id INTEGER PRIMARY KEY,
            secret BYTEA NOT NULL,
            created_at_ms BIGINT NOT NULL
        );
        CREATE TABLE workers (
            owner TEXT PRIMARY KEY,
            lease_until_ms BIGINT NOT NULL
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            revoked_at_ms BIGINT
        );
        """,
    ),
    (
        3,
        """
        CREATE INDEX executions_by_workflow ON executions (workflow, created_at_ms);
        ALTER TABLE activities ADD COLUMN inbox BOOLEAN NOT NULL DEFAULT false;
        CREATE INDEX activities_waiting ON activities (attempt_started_at_ms) WHERE state = 'async';
        CREATE INDEX activities_waiting_in_inbox ON activities (attempt_started_at_ms)
            WHERE state = 'async' AND inbox;
        """,
    ),
    (
        4,
        """
        ALTER TABLE activities ADD COLUMN inbox_note TEXT;
        """,
    ),
    (
        8,
        """
        CREATE INDEX executions_by_closed ON executions (closed_at_ms) WHERE closed_at_ms IS NOT NULL;
        """,
    ),
    (
        9,
        """
        CREATE TABLE execution_links (
            id TEXT PRIMARY KEY,
            chain_id TEXT,
            run INTEGER NOT NULL,
            parent_id TEXT,
            parent_ref BIGINT,
            parent_close TEXT,
            has_children BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX execution_links_by_chain ON execution_links (chain_id, run) WHERE chain_id IS NOT NULL;
        CREATE INDEX execution_links_by_parent ON execution_links (parent_id, parent_ref) WHERE parent_id IS NOT NULL;
        """,
    ),
    (
        10,
        """
        CREATE TABLE messages (
            message_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            execution_id TEXT NOT NULL,
            chain_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            payload TEXT NOT NULL,
            key TEXT,
            state TEXT NOT NULL,
            answer TEXT,
            sent_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT
        );
        CREATE INDEX messages_by_execution ON messages (execution_id, message_id);
        CREATE UNIQUE INDEX messages_by_key ON messages (chain_id, key) WHERE key IS NOT NULL;
        CREATE TABLE message_schemas (
            workflow TEXT NOT NULL,
            name TEXT NOT NULL,
            schema TEXT NOT NULL,
            PRIMARY KEY (workflow, name)
        );
        """,
    ),
    (
        11,
        """
        CREATE TABLE published_values (
            execution_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            version BIGINT NOT NULL,
            published_at_ms BIGINT NOT NULL,
            PRIMARY KEY (execution_id, name)
        );
        """,
    ),
    (
        12,
        """
        ALTER TABLE api_keys ADD COLUMN sigv4_secret TEXT;
        """,
    ),
    (
        13,
        """
        CREATE TABLE notification_sinks (
            sink_id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            every_inbox_item BOOLEAN NOT NULL DEFAULT false,
            created_at_ms BIGINT NOT NULL,
            disabled_at_ms BIGINT
        );
        CREATE UNIQUE INDEX notification_sinks_by_url ON notification_sinks (url) WHERE disabled_at_ms IS NULL;
        CREATE TABLE outbox (
            delivery_id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL,
            activity_id BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            event TEXT NOT NULL,
            url TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            next_try_at_ms BIGINT,
            last_error TEXT,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT,
            owner TEXT,
            leased_until_ms BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_by_execution ON outbox (execution_id, activity_id);
        CREATE INDEX outbox_due ON outbox (next_try_at_ms) WHERE state IN ('pending', 'retrying');
        CREATE INDEX outbox_held ON outbox (url) WHERE state = 'held';
        """,
    ),
    (
        14,
        """
        CREATE TABLE schedules (
            schedule_id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            args TEXT NOT NULL,
            cron TEXT NOT NULL,
            timezone TEXT NOT NULL,
            overlap TEXT NOT NULL,
            catch_up TEXT NOT NULL,
            paused BOOLEAN NOT NULL DEFAULT false,
            next_fire_at_ms BIGINT,
            last_execution_id TEXT,
            buffered_at_ms BIGINT,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL
        );
        CREATE INDEX schedules_due ON schedules (next_fire_at_ms) WHERE NOT paused;
        CREATE TABLE schedule_fires (
            fire_id BIGSERIAL PRIMARY KEY,
            schedule_id TEXT NOT NULL,
            nominal_at_ms BIGINT NOT NULL,
            fired_at_ms BIGINT NOT NULL,
            outcome TEXT NOT NULL,
            execution_id TEXT,
            manual BOOLEAN NOT NULL DEFAULT false
        );
        CREATE INDEX schedule_fires_by_schedule ON schedule_fires (schedule_id, fire_id);
        """,
    ),
    (
        15,
        """
        ALTER TABLE activity_tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE workflow_tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE executions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX activity_tasks_by_priority ON activity_tasks (priority DESC, id);
        CREATE TABLE activity_limits (name TEXT PRIMARY KEY);
        CREATE TABLE activity_starts (name TEXT NOT NULL, started_at_ms BIGINT NOT NULL);
        CREATE INDEX activity_starts_by_name ON activity_starts (name, started_at_ms);
        """,
    ),
    (
        17,
        """
        CREATE INDEX activities_overdue ON activities
            ((attempt_started_at_ms + (options::jsonb ->> 'overdue_after_ms')::bigint))
            WHERE state = 'async';
        """,
    ),
    (
        19,
        """
        CREATE INDEX activities_open ON activities (execution_id, activity_id) WHERE closed_at_ms IS NULL;
        """,
    ),
]


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema up to date on an autocommit connection; returns the version reached.

    Raises:
        psycopg.Error: the database refused (the caller wraps it).
    """
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (version INTEGER NOT NULL)")
        applied = {int(row[0]) for row in conn.execute(f"SELECT version FROM {SCHEMA}.schema_version")}
        # Every step not applied yet, in order: one numbered below the latest applied too (a
        # gap, such as a step developed apart and merged later) runs rather than being skipped.
        for version, sql in sorted(MIGRATIONS):
            if version not in applied:
                conn.execute(f"SET LOCAL search_path TO {SCHEMA}")
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)", (version,))
                applied.add(version)
        current = max(applied, default=0)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current
