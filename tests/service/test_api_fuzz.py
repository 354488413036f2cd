"""Property-based fuzzing of the served OpenAPI document: no 5xx, responses as documented, refusals change nothing.

CI runs a few examples per operation with a fixed seed; explore further with
``TETHER_FUZZ_EXAMPLES=500 bin/test tests/service/test_api_fuzz.py`` (random seeds).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.cli.conftest import Served, start_server, stop_server
from tests.cli.test_cli import new_key
from tether.model import error_bodies

pytestmark = pytest.mark.acceptance

EXAMPLES = int(os.environ.get("TETHER_FUZZ_EXAMPLES", "15"))

ANY_ERROR_BODY = jsonschema.Draft202012Validator(pydantic.TypeAdapter(error_bodies.AnyErrorBody).json_schema())


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """A real server that requires API keys, with a worker and executions in every state; and an admin key."""
    served = start_server(tmp_path_factory.mktemp("fuzz"))
    try:
        admin = new_key(served, "*:*:*")
        for index in range(3):
            served.run("workflow", "start", "cli.order", f"F-{index}", "--id", f"fuzz-{index}", TETHER_API_KEY=admin)
        served.run("activity", "complete", served.token("fuzz-0"), "--result", '{"by": "ana"}', TETHER_API_KEY=admin)
        served.run("workflow", "start", "cli.ratio", "1", "0", "--id", "fuzz-failed", TETHER_API_KEY=admin)
        served.run("workflow", "result", "fuzz-failed", "--timeout", "20", TETHER_API_KEY=admin)
        yield served, admin
    finally:
        stop_server(served)


def fingerprint(served: Served) -> tuple[Any, ...]:
    """Everything a request could change, read straight from the store's file."""
    path = Path(served.db.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return (
            conn.execute("SELECT id, status, cancel_requested, result, error FROM executions ORDER BY id").fetchall(),
            conn.execute(
                "SELECT execution_id, activity_id, state, attempt, last_heartbeat_at_ms, heartbeat_details "
                "FROM activities ORDER BY execution_id, activity_id"
            ).fetchall(),
            conn.execute("SELECT count(*) FROM events").fetchone(),
            conn.execute("SELECT count(*) FROM messages").fetchone(),
        )


OPERATIONS = [
    "POST /v1/workflows",
    "GET /v1/workflows",
    "GET /v1/workflows/{execution_id}",
    "GET /v1/histories/{execution_id}",
    "GET /v1/results/{execution_id}",
    "POST /v1/cancellations/{execution_id}",
    "POST /v1/terminations/{execution_id}",
    "DELETE /v1/workflows/{execution_id}",
    "POST /v1/retries/{execution_id}",
    "POST /v1/resumptions/{execution_id}",
    "GET /v1/published/{name}/{execution_id}",
    "POST /v1/activities/complete",
    "POST /v1/activities/fail",
    "POST /v1/activities/heartbeat",
    "POST /v1/activities/cancelled",
    "POST /v1/activities/describe",
    "POST /v1/messages/{execution_id}",
    "POST /v1/requests/{execution_id}",
    "POST /v1/callbacks/complete/{token}",
    "POST /v1/callbacks/fail/{token}",
    "GET /v1/activities/waiting",
    "GET /v1/activities/overdue",
    "GET /v1/health",
    "POST /v1/schedules",
    "GET /v1/schedules",
    "GET /v1/schedules/{schedule_id}",
    "DELETE /v1/schedules/{schedule_id}",
    "POST /v1/schedules/pause/{schedule_id}",
    "POST /v1/schedules/unpause/{schedule_id}",
    "POST /v1/schedules/trigger/{schedule_id}",
]


def operations(served: Served) -> dict[str, Any]:
    schema = schemathesis.openapi.from_url(f"{served.url}/v1/openapi.json")
    found: dict[str, Any] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the served document has an invalid operation: {result.err()}"
        found[result.ok().label] = result.ok()
    return found


def test_the_served_document_lists_every_operation(fuzz_server: tuple[Served, str]) -> None:
    assert sorted(operations(fuzz_server[0])) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_api_answers_as_documented_and_refusals_change_nothing(fuzz_server: tuple[Served, str], label: str) -> None:
    served, admin = fuzz_server
    operation = operations(served)[label]
    seen: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize="TETHER_FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        before = fingerprint(served)

        response = case.call_and_validate(
            base_url=served.url,
            headers={"Authorization": f"Bearer {admin}"},
            # A schema-valid body may carry a forged or stale token: refused by design (400, 409).
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
        )

        seen.append(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "message", "details"}
            ANY_ERROR_BODY.validate(response.json())  # its code's own body, details and all
            assert fingerprint(served) == before, f"{case.method} {case.path} was refused but changed the store"

    check()
    assert seen, f"no request was made for {operation.label}"
