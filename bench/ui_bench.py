"""tether web UI benchmark: page times over many executions (``bin/bench --ui``, ``--n`` to vary).

Parks N workflows on async activities marked for the inbox (so the inbox has N entries too),
serves the app on loopback and times each page, median of several loads, on the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import tether
from tether.service import app as service_app
from tether.service import server as service_server
from tether.service.auth import StoreKeys


class Parked:
    """Counts activities that went async, and says when all expected have."""

    def __init__(self) -> None:
        self.count = 0
        self.expected = 0
        self.all_in = asyncio.Event()

    def one_more(self) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.all_in.set()


parked = Parked()


@tether.activity(name="bench_ui.review", inbox=True)
async def review(i: int) -> int:
    parked.one_more()
    return tether.make_async()


@tether.workflow(name="bench_ui.order")
async def order(i: int) -> int:
    return await review(i)


async def _time(http: httpx.AsyncClient, path: str, loads: int = 7) -> float:
    samples = []
    for _ in range(loads):
        started = time.perf_counter()
        reply = await http.get(path)
        reply.raise_for_status()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="parked executions")
    args = parser.parse_args()
    results: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0], "executions": args.n}
    with tempfile.TemporaryDirectory(prefix="tether-bench-ui-") as tmp:
        client = await tether.Client.connect(f"sqlite:///{Path(tmp) / 'ui.db'}?synchronous=NORMAL")
        async with tether.Worker(client, workflows=[order], activities=[review]):
            began = time.perf_counter()
            parked.expected = args.n
            for start in range(0, args.n, 2000):
                batch = range(start, min(start + 2000, args.n))
                await asyncio.gather(*(client.start_workflow(order, i, id=f"order-{i:07d}") for i in batch))
            await parked.all_in.wait()
            results["park_seconds"] = round(time.perf_counter() - began, 1)
            app = service_app.create_app(client.engine, StoreKeys(client.engine, open_without_keys=True))
            sock = service_server.bind("127.0.0.1", 0)
            server = service_server.Server(app)
            serving = asyncio.ensure_future(server.serve_on(sock))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_server.port_of(sock)}") as http:
                pages = {
                    "list_first_page": "/",
                    "list_running": "/?status=running",
                    "list_by_name": "/?name=bench_ui.order",
                    "list_by_id_prefix": "/?prefix=order-00500",
                    "list_last_page": f"/?offset={max(args.n - 50, 0)}",
                    "execution_page": "/executions/order-0050000" if args.n > 50_000 else "/executions/order-0000001",
                    "inbox": "/inbox",
                    "overdue_none": "/overdue",
                    "overdue_all": "/overdue?waiting=1ms",
                    "overdue_all_last_page": f"/overdue?waiting=1ms&offset={max(args.n - 50, 0)}",
                    "api_list": "/v1/workflows?limit=100",
                    "api_overdue_all": "/v1/activities/overdue?limit=100&waiting_longer_than_ms=1",
                }
                results["page_ms_median"] = {name: await _time(http, path) for name, path in pages.items()}
            server.stop()
            await serving
        await client.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
