"""CPU cost per W4 step, per W1 workflow and per W2 completion, counted in instructions by callgrind rather than timed.

Run with ``bin/bench --instructions`` (valgrind must be installed). It runs the W4
sequence (sync activities, one after another) under ``valgrind --tool=callgrind`` for 50
and for 250 steps on a fresh SQLite file with ``synchronous=OFF`` and prints the
difference divided by 200: start-up, imports and the fsync drop out, and the count
hardly depends on how busy the machine is, as wall time on a shared machine does. W1 is
counted the same way, from 100 and 500 workflows started at once (one sync activity
each). W2 parks 500 workflows on an async activity in both runs and completes 100 or all
500 of them by token, one after another (so each commits alone, and the count does not move
with how calls share commits), then awaits their results together: the count is what a
completion by token that closes its workflow costs in process (the transition by token,
the workflow's step run inside it, the commit), without HTTP. Which thread runs a batch,
and how many transitions share a commit, depend on thread timing, so a W4 or W1 count
varies by up to 3% from run to run, W2 by about 1%: compare several.

``--only W2_http,W3_http`` counts what a completion and a heartbeat by token over HTTP cost a
``tether server`` process, one call at a time (see ``bench.http_instructions``).

``--observed`` counts each workload twice: as before, and with the observers ``tether
server`` attaches (its metrics and its transition log, logging at INFO): what telemetry
costs a step is the difference.

The store's poll for commits by other processes fires on wall time (every 20 ms);
under callgrind a step takes about fifty times longer, so the poll would add a count per
step that depends on the machine's speed. The runs move it out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import tether
from bench import http_instructions
from bench.bench import _park, add, one_async, one_sync, park, sequence
from tether.cli import log_format
from tether.engine import transition_log
from tether.engine.core import EngineCore
from tether.store.sqlite import store as sqlite_store


def _observe(engine: EngineCore) -> None:
    """Attach what ``tether server`` attaches with its default ``--log-level info``."""
    from tether.engine import metrics as engine_metrics  # prometheus_client only for the observed runs

    log_format.configure(log_format.Format.TEXT, log_format.Level.INFO)
    transition_log.TransitionLog.attach(engine)
    engine_metrics.Metrics(engine)


_PARKED = 500
"""W2's workflows parked in both runs: only the completions differ."""


async def _complete_parked(client: tether.Client, completed: int) -> None:
    """W2: park ``_PARKED`` workflows, then complete ``completed`` of them by token, one at a time."""
    handles, tokens = await _park(client, _PARKED, "instructions")
    for token in tokens[:completed]:
        await client.complete_activity(token, 1)
    results = await asyncio.gather(*(handle.result() for handle in handles[:completed]))
    assert results == [1] * completed


async def _run(workload: str, size: int, observed: bool) -> None:
    sqlite_store._EXTERNAL_POLL_SECONDS = 3600.0  # see the module docstring
    with tempfile.TemporaryDirectory() as directory:
        client = await tether.Client.connect(f"sqlite:///{Path(directory) / 'bench.db'}?synchronous=OFF")
        try:
            if observed:
                _observe(client.engine)
            async with tether.Worker(client, workflows=[sequence, one_sync, one_async], activities=[add, park]):
                if workload == "W2":
                    await _complete_parked(client, size)
                elif workload == "W4":
                    handle = await client.start_workflow(sequence, size)
                    assert await handle.result() == size * (size + 1) // 2
                else:
                    handles = await asyncio.gather(*(client.start_workflow(one_sync, i) for i in range(size)))
                    results = await asyncio.gather(*(h.result() for h in handles))
                    assert sum(results) == size * (size + 1) // 2
        finally:
            await client.close()


def _count(workload: str, size: int, observed: bool) -> subprocess.Popen[str]:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "bench.instructions", "--run", workload, str(size),
        *(["--observed"] if observed else []),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _collected(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed:\n{err}")
    return int(found.group(1))


_SIZES = {"W4": (50, 250), "W1": (100, 500), "W2": (100, _PARKED)}
"""The two runs whose difference is counted: steps for W4, workflows for W1, completions for W2."""

_UNITS = {"W4": "instructions_per_step", "W1": "instructions_per_workflow", "W2": "instructions_per_completion"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        default="W4,W1,W2",
        help="comma-separated workloads: W4, W1, W2 in process; W2_http, W3_http a server's per call over HTTP",
    )
    parser.add_argument(
        "--observed", action="store_true", help="also count with the server's metrics and transition log attached"
    )
    parser.add_argument(
        "--db", help="W2_http and W3_http only: a fresh postgresql:// database for the server (default: SQLite)"
    )
    args = parser.parse_args()
    if args.run is not None:
        asyncio.run(_run(args.run[0], int(args.run[1]), args.observed))
        return
    workloads = args.only.split(",")
    unknown = set(workloads) - {*_UNITS, *http_instructions.UNITS}
    if unknown:
        parser.error(f"--only takes W4, W1, W2, W2_http and W3_http, not {', '.join(sorted(unknown))}")
    over_http = [w for w in workloads if w in http_instructions.UNITS]
    if args.db is not None and len(over_http) < len(workloads):
        parser.error("--db counts W2_http and W3_http: W4, W1 and W2 run on SQLite")
    if over_http:
        if args.observed:
            parser.error("--observed counts W4, W1 and W2: a server over HTTP always has its telemetry")
        for workload, per_call in http_instructions.count(over_http, args.db).items():
            print(json.dumps({"workload": workload, http_instructions.UNITS[workload]: round(per_call)}))
    for workload in workloads:
        if workload in http_instructions.UNITS:
            continue
        unit = _UNITS[workload]
        plain = _per_unit(workload, observed=False)
        if not args.observed:
            print(json.dumps({"workload": workload, unit: round(plain)}))
            continue
        observed = _per_unit(workload, observed=True)
        figures = {unit: round(plain), f"observed_{unit}": round(observed)}
        print(json.dumps({"workload": workload, **figures, "observed_extra": f"{observed / plain - 1:+.1%}"}))


def _per_unit(workload: str, *, observed: bool) -> float:
    small, large = _SIZES[workload]
    short, long = _count(workload, small, observed), _count(workload, large, observed)
    return (_collected(long) - _collected(short)) / (large - small)


if __name__ == "__main__":
    main()
