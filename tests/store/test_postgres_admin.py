"""Test databases a dead process left behind are dropped by the next process; a live one's are kept."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
from psycopg import sql

from tests.conftest import POSTGRES_SERVER
from tether.store.postgres import admin


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _databases() -> set[str]:
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _create(name: str) -> None:
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def test_names_say_which_host_and_process_made_them() -> None:
    name = admin._new_name()
    owner = admin._OWNED.match(name)
    assert owner is not None
    assert int(owner.group(1)) == os.getpid()
    assert len(name) <= 63  # PostgreSQL's longest identifier


def test_a_sweep_drops_the_databases_of_a_dead_process_of_this_host_and_keeps_a_live_ones() -> None:
    dead = f"{admin._PREFIX}{admin._HOST}_{_dead_pid()}_leftover"
    live = f"{admin._PREFIX}{admin._HOST}_{os.getpid()}_in_use"
    other_host = f"{admin._PREFIX}00000000_{_dead_pid()}_elsewhere"
    for name in (dead, live, other_host):
        _create(name)
    try:
        # Another test process of this host may be sweeping too (each sweeps as it starts): this
        # sweep waits for it, and the dead process's database is gone either way.
        dropped = admin._sweep(POSTGRES_SERVER, wait=True)
        assert live not in dropped
        assert other_host not in dropped
        assert dead not in _databases()
        assert {live, other_host} <= _databases()
    finally:
        # In the background (each drop waits for a checkpoint), but for the other host's: no
        # sweep of this host drops it if this process ends before its background drops run.
        for name in (dead, live):
            admin.drop_database(admin.with_database(POSTGRES_SERVER, name), server_url=POSTGRES_SERVER, wait=False)
        admin.drop_database(admin.with_database(POSTGRES_SERVER, other_host), server_url=POSTGRES_SERVER)


def test_a_database_the_sweep_cannot_drop_leaves_the_others_swept() -> None:
    # A drop the server refuses (here: a template database cannot be dropped; in a test run, the
    # same database dropped by another session at once) once ended the sweep: what came after it stayed.
    pid = _dead_pid()
    stuck = f"{admin._PREFIX}{admin._HOST}_{pid}_a_stuck"  # swept first: in the order of their names
    dead = f"{admin._PREFIX}{admin._HOST}_{pid}_b_after"
    _create(stuck)
    _create(dead)
    with psycopg.connect(POSTGRES_SERVER, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(stuck)))
    try:
        dropped = admin._sweep(POSTGRES_SERVER, wait=True)
        assert stuck not in dropped
        assert stuck in _databases()
        assert dead not in _databases()
    finally:
        with psycopg.connect(POSTGRES_SERVER, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(stuck)))
        for name in (stuck, dead):
            admin.drop_database(admin.with_database(POSTGRES_SERVER, name), server_url=POSTGRES_SERVER)


def test_a_process_leaves_the_sweep_to_another_of_its_host_that_is_at_it() -> None:
    dead = f"{admin._PREFIX}{admin._HOST}_{_dead_pid()}_leftover"
    _create(dead)
    try:
        with psycopg.connect(POSTGRES_SERVER, autocommit=True) as sweeping:  # another process, sweeping
            sweeping.execute("SELECT pg_advisory_lock(%s)", (admin._SWEEP_LOCK,))
            assert admin._sweep(POSTGRES_SERVER) == []
            assert dead in _databases()
    finally:
        admin.drop_database(admin.with_database(POSTGRES_SERVER, dead), server_url=POSTGRES_SERVER, wait=False)
