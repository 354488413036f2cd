"""TETHER_CODEC_KEYS gives every command the payload codec: results decoded with it, refused without it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path

from typer.testing import CliRunner

import tether
from tether.cli import app
from tether.testing import TestEnvironment

KEY = os.urandom(32)
SPEC = f"k1={base64.urlsafe_b64encode(KEY).decode().rstrip('=')}"


@tether.workflow
async def cli_codec_greet(name: str) -> dict[str, str]:
    return {"greeting": f"hello {name}"}


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
