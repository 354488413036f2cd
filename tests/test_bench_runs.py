"""`bin/bench` runs every workload to the end and prints its figures (at small sizes: nothing here is timed).

Benchmarks are where speed is measured; one that crashes part way measures nothing. This
runs them as `bin/bench` does, on each store, and checks that each workload reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD_S = 300
SMALL = ["--n", "6", "--heartbeats", "40", "--steps", "6", "--w5", "30", "--rounds", "4"]


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def test_every_workload_of_the_benchmark_runs_to_the_end_and_reports(
    store: str, request: pytest.FixtureRequest
) -> None:
    # On SQLite as `bin/bench` runs by default (a fresh file per workload); on a fresh PostgreSQL database.
    db = [] if store == "sqlite" else ["--db", str(request.getfixturevalue(store))]
    ran = subprocess.run(
        [sys.executable, "-m", "bench.bench", *SMALL, *db],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    figures = json.loads(ran.stdout)
    assert (figures["W1"]["n"], figures["W2"]["n"], figures["W4"]["steps"]) == (6, 6, 6)
    assert (figures["W3"]["heartbeats"], figures["W5"]["parked"]) == (40, 30)
    assert (figures["W6"]["rounds"], figures["W6"]["n"]) == (4, 6)
    assert figures["W6"]["w6b_requests_per_s"] > 0
