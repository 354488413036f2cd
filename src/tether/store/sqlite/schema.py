"""Numbered, forward-only migrations of the SQLite schema.

3: the task queues hold only ready work, a few rows at a time, so they carry no secondary
index and no AUTOINCREMENT bookkeeping: both cost more on every write than they save on a read.

4: API keys of the server (a SHA-256 hash of each secret, never the secret).

5: for the web UI on many executions: listings by workflow name, the waiting (async) activities
in the order they began to wait, and an ``inbox`` flag on activities a person finishes.

6: an execution's last sequence number is read from its history (the events' primary key
finds it at once) instead of being rewritten by every transition that appends an event.

7: what an activity that asked for a person at run time (``ctx.inbox``) shows in the inbox.

8: closed executions by the time they closed, for retention to find the oldest without a scan.

9: links between executions: the runs of a continued execution and the children of a parent.
Only linked executions have a row, so the hot path (an execution on its own) reads none.

10: messages and requests sent to executions (ids never reused: histories name them), keys
unique per chain, and the JSON Schemas workflows declare for their payloads.
11: published values (``tether.publish``): the last value of each name of an execution, with
its version. A table of its own, independent of the others: it applies after 9 or after 10.

12: the SigV4 secret an API key may have (for AWS SDKs), sealed under a key derived from the
token signing keys, never in plain text; a column of its own, it applies after 11 or after 13.
13: notifications out: the sinks they go to (URL, signing secret, whether each gets every waiting
activity) and the outbox, one row per notification and URL, written in the transition that caused it
and delivered afterwards by workers. Tables of their own: it applies whatever came before.
14: schedules (a cron expression in a time zone, the next occurrence due, what is held back) and the
latest fires of each. Tables of their own: it applies whatever came before.
15: flow control: a priority on executions and both ready queues (claims take the highest first), and
the recent starts of each activity type, for rate limits across workers.
17: the overdue view: waiting (async) activities by when their own waiting age limit
(``overdue_after_ms`` of their options) runs out, an expression index of that sum.
18: the priority index of queued attempts holds only those of a priority other than 0: queueing
an attempt of the default priority maintains no index but the queue's own, and the claim reads
the others (before and after those of priority 0) from the smaller index.
"""

from __future__ import annotations

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
            created_at_ms INTEGER NOT NULL,
            closed_at_ms INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            task_error TEXT,
            last_seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX executions_by_status ON executions (status, created_at_ms);
        CREATE INDEX executions_by_created ON executions (created_at_ms);
        CREATE INDEX executions_with_task_error ON executions (id) WHERE task_error IS NOT NULL;
        CREATE TABLE events (
            execution_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (execution_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE activities (
            execution_id TEXT NOT NULL,
            activity_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            args TEXT NOT NULL,
            options TEXT NOT NULL,
            scheduled_at_ms INTEGER NOT NULL,
            attempt_started_at_ms INTEGER,
            last_heartbeat_at_ms INTEGER,
            heartbeat_details TEXT,
            checkpoint TEXT,
            last_failure TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            watch_heartbeats INTEGER NOT NULL DEFAULT 0,
            result TEXT,
            closed_at_ms INTEGER,
            PRIMARY KEY (execution_id, activity_id)
        ) WITHOUT ROWID;
        CREATE TABLE timers (
            execution_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            due_at_ms INTEGER NOT NULL,
            PRIMARY KEY (execution_id, kind, ref)
        ) WITHOUT ROWID;
        CREATE INDEX timers_by_due ON timers (due_at_ms);
        CREATE TABLE workflow_tasks (
            execution_id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            ready_at_ms INTEGER NOT NULL,
            leased_until_ms INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            dirty INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX workflow_tasks_by_lease ON workflow_tasks (leased_until_ms, ready_at_ms);
        CREATE TABLE activity_tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            activity_id INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (execution_id, activity_id)
        );
        CREATE TABLE known_workflows (name TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE signing_keys (
            key_id INTEGER PRIMARY KEY,
            secret BLOB NOT NULL,
            created_at_ms INTEGER NOT NULL
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE workers (
            owner TEXT PRIMARY KEY,
            lease_until_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        ALTER TABLE activities ADD COLUMN worker TEXT;
        CREATE INDEX activities_running_by_worker ON activities (worker) WHERE state = 'running';
        """,
    ),
    (
        3,
        """
        DROP INDEX workflow_tasks_by_lease;
        CREATE TABLE activity_tasks_v3 (
            id INTEGER PRIMARY KEY,
            execution_id TEXT NOT NULL,
            activity_id INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            name TEXT NOT NULL,
            UNIQUE (execution_id, activity_id)
        );
        INSERT INTO activity_tasks_v3 (id, execution_id, activity_id, attempt, name)
            SELECT id, execution_id, activity_id, attempt, name FROM activity_tasks;
        DROP TABLE activity_tasks;
        ALTER TABLE activity_tasks_v3 RENAME TO activity_tasks;
        """,
    ),
    (
        4,
        """
        CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            revoked_at_ms INTEGER
        ) WITHOUT ROWID;
        """,
    ),
    (
        5,
        """
        CREATE INDEX executions_by_workflow ON executions (workflow, created_at_ms);
        ALTER TABLE activities ADD COLUMN inbox INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX activities_waiting ON activities (attempt_started_at_ms) WHERE state = 'async';
        CREATE INDEX activities_waiting_in_inbox ON activities (attempt_started_at_ms)
            WHERE state = 'async' AND inbox = 1;
        """,
    ),
    (
        6,
        """
        CREATE TABLE executions_v4 (
            id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            status TEXT NOT NULL,
            input TEXT NOT NULL,
            result TEXT,
            error TEXT,
            created_at_ms INTEGER NOT NULL,
            closed_at_ms INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            task_error TEXT
        );
        INSERT INTO executions_v4 (
            id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested, task_error
        )
            SELECT id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested,
                task_error FROM executions;
        DROP TABLE executions;
        ALTER TABLE executions_v4 RENAME TO executions;
        CREATE INDEX executions_by_status ON executions (status, created_at_ms);
        CREATE INDEX executions_by_created ON executions (created_at_ms);
        CREATE INDEX executions_with_task_error ON executions (id) WHERE task_error IS NOT NULL;
        CREATE INDEX executions_by_workflow ON executions (workflow, created_at_ms);
        """,
    ),
    (
        7,
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
            parent_ref INTEGER,
            parent_close TEXT,
            has_children INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX execution_links_by_chain ON execution_links (chain_id, run) WHERE chain_id IS NOT NULL;
        CREATE INDEX execution_links_by_parent ON execution_links (parent_id, parent_ref) WHERE parent_id IS NOT NULL;
        """,
    ),
    (
        10,
        """
        CREATE TABLE messages (
            message_id INTEGER PRIMARY KEY AUTOINCREMENT,
            execution_id TEXT NOT NULL,
            chain_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            payload TEXT NOT NULL,
            key TEXT,
            state TEXT NOT NULL,
            answer TEXT,
            sent_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER
        );
        CREATE INDEX messages_by_execution ON messages (execution_id, message_id);
        CREATE UNIQUE INDEX messages_by_key ON messages (chain_id, key) WHERE key IS NOT NULL;
        CREATE TABLE message_schemas (
            workflow TEXT NOT NULL,
            name TEXT NOT NULL,
            schema TEXT NOT NULL,
            PRIMARY KEY (workflow, name)
        ) WITHOUT ROWID;
        """,
    ),
    (
        11,
        """
        CREATE TABLE published_values (
            execution_id TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            version INTEGER NOT NULL,
            published_at_ms INTEGER NOT NULL,
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
            every_inbox_item INTEGER NOT NULL DEFAULT 0,
            created_at_ms INTEGER NOT NULL,
            disabled_at_ms INTEGER
        );
        CREATE UNIQUE INDEX notification_sinks_by_url ON notification_sinks (url) WHERE disabled_at_ms IS NULL;
        CREATE TABLE outbox (
            delivery_id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL,
            activity_id INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            event TEXT NOT NULL,
            url TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            tries INTEGER NOT NULL DEFAULT 0,
            next_try_at_ms INTEGER,
            last_error TEXT,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER,
            owner TEXT,
            leased_until_ms INTEGER NOT NULL DEFAULT 0
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
            paused INTEGER NOT NULL DEFAULT 0,
            next_fire_at_ms INTEGER,
            last_execution_id TEXT,
            buffered_at_ms INTEGER,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE INDEX schedules_due ON schedules (next_fire_at_ms) WHERE paused = 0;
        CREATE TABLE schedule_fires (
            fire_id INTEGER PRIMARY KEY,
            schedule_id TEXT NOT NULL,
            nominal_at_ms INTEGER NOT NULL,
            fired_at_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            execution_id TEXT,
            manual INTEGER NOT NULL DEFAULT 0
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
        CREATE TABLE activity_starts (name TEXT NOT NULL, started_at_ms INTEGER NOT NULL);
        CREATE INDEX activity_starts_by_name ON activity_starts (name, started_at_ms);
        """,
    ),
    (
        17,
        """
        CREATE INDEX activities_overdue ON activities
            (attempt_started_at_ms + json_extract(options, '$.overdue_after_ms'))
            WHERE state = 'async';
        """,
    ),
    (
        18,
        """
        DROP INDEX activity_tasks_by_priority;
        CREATE INDEX activity_tasks_prioritized ON activity_tasks (priority DESC, id) WHERE priority <> 0;
        """,
    ),
    (
        19,
        """
        CREATE INDEX activities_open ON activities (execution_id, activity_id) WHERE closed_at_ms IS NULL;
        """,
    ),
]
