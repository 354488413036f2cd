"""A loopback tether server with metrics over a TestEnvironment's engine, and a scrape parsed as Prometheus does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import loopback
from tether.engine.metrics import Metrics
from tether.service import app as service_app
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""Sample values by name and sorted labels."""


@asynccontextmanager
async def metrics_server(env: TestEnvironment, *, public: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """A real loopback server over ``env``'s engine that serves /metrics."""
    metrics = Metrics(env.engine)
    app = service_app.create_app(
        env.engine, StoreKeys(env.engine, open_without_keys=True), metrics=metrics, metrics_public=public
    )
    try:
        async with loopback.served(app) as http:
            yield http
    finally:
        metrics.close()


def parse(text: str) -> Samples:
    """Every sample of a scrape, as prometheus_client's parser reads it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> Samples:
    """GET /metrics, which must answer 200 in the text format, parsed."""
    answer = await http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has no such sample (a counter never incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
