"""The TypeScript client (clients/typescript): its own node tests, its error map, its generated types, its purity.

The node tests run compiled (``node --test``) against a real ``tether server`` and a real Redis
from here, so the README's test command runs them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.clients.conftest import QueueServer, node, npm
from tether import errors

pytestmark = pytest.mark.acceptance


def node_suite(package: Path, name: str, env: dict[str, str] | None = None) -> str:
    """Run build/test/NAME.test.js with node's test runner; its report, after checking that all passed."""
    done = node("--test", "--test-reporter=tap", f"build/test/{name}.test.js", env=env, timeout=180)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert re.search(r"^# fail 0$", done.stdout, re.MULTILINE), report
    assert not re.search(r"^# pass 0$", done.stdout, re.MULTILINE), report
    return report


def test_error_answers_become_their_classes_in_typescript(typescript: Path) -> None:
    node_suite(typescript, "errors")


def test_the_typescript_client_retries_503_and_broken_connections_only_when_safe(
    typescript: Path, server: QueueServer
) -> None:
    node_suite(typescript, "retry", server.env())


def test_the_typescript_client_against_a_real_server(typescript: Path, server: QueueServer) -> None:
    node_suite(typescript, "server", server.env())


def test_the_typescript_error_map_has_every_code_of_the_python_package_under_the_same_parent(
    typescript: Path,
) -> None:
    script = (
        "const {ERROR_CLASSES} = await import('./dist/index.js');"
        "console.log(JSON.stringify(Object.fromEntries(Object.entries(ERROR_CLASSES).map("
        "([code, cls]) => [code, Object.getPrototypeOf(cls).code ?? null]))));"
    )
    done = node("--input-type=module", "-e", script)
    assert done.returncode == 0, done.stderr
    python: dict[str, str | None] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        parent = cls.__bases__[0]
        python[cls.code] = parent.code if issubclass(parent, errors.TetherError) else None
    assert json.loads(done.stdout) == python


def test_the_generated_types_are_those_of_docs_openapi_json(typescript: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "schema.ts"
    done = node("scripts/generate.mjs", str(fresh))
    assert done.returncode == 0, done.stderr
    assert fresh.read_text() == (typescript / "src" / "schema.ts").read_text(), (
        "src/schema.ts is out of date: run `npm run generate` in clients/typescript"
    )


def test_the_openapi_document_passes_redocly_lint(typescript: Path) -> None:
    done = npm("run", "lint:openapi", env={"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"})
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "Your API description is valid" in said
    # The one warning left: the project names no license for the document to state.
    assert "You have 1 warning" in said, said
    assert "info-license" in said, said


def test_the_library_uses_no_runtime_dependency_and_no_node_module(typescript: Path) -> None:
    manifest = json.loads((typescript / "package.json").read_text())
    assert "dependencies" not in manifest
    assert manifest["type"] == "module"
    for source in (typescript / "src").glob("*.ts"):
        text = source.read_text()
        assert not re.search(r"""from\s+["']node:|require\(|\bprocess\.|\bBuffer\b""", text), source.name
