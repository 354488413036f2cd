"""The README's "Changing workflow code safely" examples run as shown: a patched workflow, replay in CI, limits."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from pathlib import Path

import pytest

from tether.testing import TestEnvironment

ROOT = Path(__file__).resolve().parent.parent
TETHER = str(Path(sys.executable).parent / "tether")


def blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^## Changing workflow code safely\n(.*?)^## ", readme, re.M | re.S)
    assert found, "the README has a section on changing workflow code safely"
    return re.findall(r"^```python\n(.*?)^```", found.group(1), re.M | re.S)


async def test_the_patched_workflow_runs_and_its_exported_history_replays_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow_code, ci_test, limits = blocks()
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "workflows.py").write_text(workflow_code)
    (tmp_path / "tests" / "histories").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "myapp", raising=False)
    monkeypatch.delitem(sys.modules, "myapp.workflows", raising=False)
    app = importlib.import_module("myapp.workflows")

    async with TestEnvironment(workflows=[app.order], activities=[app.charge, app.charge_v2]) as env:
        handle = await env.client.start_workflow(app.order, "1042", id="order-1042")
        await env.wait_for_idle()  # charged, sleeping for 30 days
        assert (await handle.describe()).patches == ["charge-v2"]
        exported = await asyncio.create_subprocess_exec(
            TETHER, "workflow", "history", "order-1042", "--json", "--url", env.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await exported.communicate()
        assert exported.returncode == 0, stderr.decode()
        assert await handle.result() == "charged 1042 with tax"

        namespace: dict[str, object] = {**vars(app), "client": env}  # it follows the first block
        exec(limits, namespace)
        assert namespace["worker"] is not None

    (tmp_path / "tests" / "histories" / "order-1042.json").write_bytes(stdout)
    namespace = {}
    exec(ci_test, namespace)
    namespace["test_running_orders_replay_on_the_new_code"]()  # type: ignore[operator]  # defined by the block
