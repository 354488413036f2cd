"""The route under /v1 that reads an execution's published values, waiting for a newer one when asked.

The value's name comes before the execution id, and the id last and whole (it may hold '/');
a name never holds '/'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from tether import errors
from tether.model.published import NAME_LIMIT, check_name
from tether.model.records import Published
from tether.model.wire import MAX_PUBLISHED_WAIT_SECONDS, MAX_VERSION
from tether.service import long_polls, paths
from tether.service.auth import Caller
from tether.service.errors import NAMING_EXECUTION, refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1", tags=["workflows"])


@router.get(
    f"/published/{{name}}/{paths.EXECUTION_ID}",
    operation_id="getPublished",
    response_model=Published,
    responses=refusals(*NAMING_EXECUTION, errors.NotPublished, errors.InvalidPayload),
)
async def published(
    name: Annotated[str, Path(max_length=NAME_LIMIT, description="The value's name (printable characters, no '/').")],
    execution_id: str,
    request: Request,
    caller: Caller,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_VERSION, description="A version seen already: wait for a newer one.")
    ] = None,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_PUBLISHED_WAIT_SECONDS, description="Seconds to wait for a newer version (or a first one)."),
    ] = 0,
) -> Published | Response:
    """The last value an execution published under ``name``, with its version (404 ``not_published`` if none).

    With ``wait``, the request waits that long for a version newer than ``after`` (a first
    one, without ``after``) and answers as soon as one is published; when the wait ends, it
    answers the current value unchanged. The chain's id reads its current run.
    """
    check_name(name)
    engine = engine_of(request)
    waiting = engine.published(execution_id, name, after=after, wait_ms=round(wait * 1000), access=caller)
    try:
        value = await long_polls.wait(request, waiting)
    except long_polls.CallerGone:
        return Response(status_code=204)  # the client is gone and reads no answer
    if value is None:  # the server stops: answer with the value as it stands; the client asks again elsewhere
        value = await engine.published(execution_id, name, access=caller)
    return value
