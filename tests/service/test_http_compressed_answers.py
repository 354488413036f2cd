"""A tether server behind a layer that compresses its answers (a proxy with gzip on): the HTTP client reads them."""

from __future__ import annotations

from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware

import tether
from tests.helpers.loopback import served
from tether.service.app import create_app
from tether.service.auth import StoreKeys


@tether.workflow(name="tests.compressed.doubled")
async def doubled(n: int) -> int:
    return n * 2


async def test_a_server_whose_answers_are_compressed_on_the_way_is_read_through_them(tmp_path: Path) -> None:
    async with await tether.Client.connect(f"sqlite:///{tmp_path / 'store.db'}") as embedded:
        app = create_app(embedded.engine, StoreKeys(embedded.engine, open_without_keys=True))
        async with served(GZipMiddleware(app, minimum_size=0)) as http, tether.Worker(embedded, workflows=[doubled]):
            async with await tether.Client.connect(str(http.base_url)) as client:
                handle = await client.start_workflow(doubled, 21)
                assert await handle.result() == 42
                assert (await client.get_handle(handle.id).describe()).status == tether.WorkflowStatus.COMPLETED
            # The layer did compress what the client read: its requests accept gzip.
            raw = await http.get(f"/v1/results/{handle.id}", headers={"accept-encoding": "gzip, deflate"})
            assert raw.headers["content-encoding"] == "gzip"
