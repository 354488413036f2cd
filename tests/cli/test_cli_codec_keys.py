"""TETHER_CODEC_KEYS gives every command the payload codec: results decoded with it, refused without it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import tether
from tether.cli import app, output
from tether.testing import TestEnvironment

KEY = os.urandom(32)
SPEC = f"k1={base64.urlsafe_b64encode(KEY).decode().rstrip('=')}"


@tether.workflow
async def cli_codec_greet(name: str) -> dict[str, str]:
    return {"greeting": f"hello {name}"}


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 300-column terminal shows them (the console is made at import, so COLUMNS comes too late)."""
    monkeypatch.setattr(output, "out", Console(width=300, soft_wrap=True))


async def _completed(path: Path) -> str:
    codec = tether.AesGcmCodec({"k1": KEY}, current="k1")
    async with TestEnvironment(workflows=[cli_codec_greet], path=path, codec=codec) as env:
        handle = await env.client.start_workflow(cli_codec_greet, "ana")
        await handle.result()
        return handle.id


def test_workflow_result_decodes_with_the_keys_and_says_it_cannot_without_them(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    execution_id = asyncio.run(_completed(path))
    url = f"sqlite:///{path}"
    keyed = CliRunner().invoke(app, ["workflow", "result", execution_id, "--url", url], env={"TETHER_CODEC_KEYS": SPEC})
    assert keyed.exit_code == 0, keyed.output
    assert json.loads(keyed.stdout) == {"greeting": "hello ana"}

    blind = CliRunner().invoke(app, ["workflow", "result", execution_id, "--url", url], env={"TETHER_CODEC_KEYS": ""})
    assert blind.exit_code == 27
    assert "undecodable_payload" in blind.stderr
    assert "hello ana" not in blind.output


def test_workflow_show_and_history_print_payloads_decoded_with_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    execution_id = asyncio.run(_completed(path))
    url = f"sqlite:///{path}"
    printed: dict[str, str] = {}
    for command in ("show", "history"):
        by_option = CliRunner().invoke(
            app, ["workflow", command, execution_id, "--url", url, "--codec-keys", SPEC, "--json"],
            env={"TETHER_CODEC_KEYS": ""},
        )  # fmt: skip
        by_variable = CliRunner().invoke(
            app, ["workflow", command, execution_id, "--url", url, "--json"], env={"TETHER_CODEC_KEYS": SPEC}
        )
        table = CliRunner().invoke(
            app, ["workflow", command, execution_id, "--url", url], env={"TETHER_CODEC_KEYS": SPEC}
        )
        for shown in (by_option, by_variable, table):
            assert shown.exit_code == 0, shown.output
            assert "hello ana" in shown.stdout
            assert "tether/encoding" not in shown.stdout
        printed[command] = by_option.stdout
    described = json.loads(printed["show"])
    assert described["input"] == ["ana"]
    assert described["result"] == {"greeting": "hello ana"}
    events = json.loads(printed["history"])
    assert events[0]["data"]["args"] == ["ana"]
    assert events[-1]["data"]["result"] == {"greeting": "hello ana"}


def test_workflow_show_and_history_print_envelopes_as_stored_without_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    execution_id = asyncio.run(_completed(path))
    url = f"sqlite:///{path}"
    described = CliRunner().invoke(
        app, ["workflow", "show", execution_id, "--url", url, "--json"], env={"TETHER_CODEC_KEYS": ""}
    )
    assert described.exit_code == 0, described.output
    assert json.loads(described.stdout)["result"]["tether/encoding"] == "aes-gcm"
    history = CliRunner().invoke(
        app, ["workflow", "history", execution_id, "--url", url], env={"TETHER_CODEC_KEYS": ""}
    )
    assert history.exit_code == 0, history.output
    assert "tether/encoding" in history.stdout
    # Quoted or spaced, as plain JSON would show them: ciphertext in base64url may hold the bare letters.
    assert '"ana"' not in history.stdout
    assert "hello ana" not in history.stdout


def test_workflow_show_refuses_keys_that_do_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    execution_id = asyncio.run(_completed(path))
    shown = CliRunner().invoke(
        app, ["workflow", "show", execution_id, "--url", f"sqlite:///{path}", "--codec-keys", "k1=short"],
        env={"TETHER_CODEC_KEYS": ""},
    )  # fmt: skip
    assert shown.exit_code == 2
    assert "usage_error" in shown.stderr
