"""Routes that talk to a running execution: messages (with or without starting it) and requests.

As everywhere under /v1, the execution id comes last in the path, whole.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from tether import errors
from tether.engine import message_states, tracing
from tether.model import payloads, wire
from tether.model.wire import MessageSent, RequestOutcome, SendMessage, SendRequest
from tether.service import long_polls, paths, traces
from tether.service.auth import Caller
from tether.service.errors import NAMING_EXECUTION, WITH_BODY, refusals
from tether.service.routes_workflows import may_start
from tether.service.state import engine_of

router = APIRouter(prefix="/v1", tags=["messages"])

_TO_EXECUTION = (*NAMING_EXECUTION, *WITH_BODY)


@router.post(
    f"/messages/{paths.EXECUTION_ID}",
    operation_id="sendMessage",
    responses=refusals(
        *_TO_EXECUTION, errors.UnknownWorkflow, errors.ExecutionClosed, errors.MessageKeyReused, errors.ExecutionIdTaken
    ),
)
async def send_message(execution_id: str, body: SendMessage, request: Request, caller: Caller) -> MessageSent:
    """Send a message to a running execution: stored at once, received once, in send order.

    The same ``key`` sent again is the same message (``stored`` false), even after the
    execution closed. A closed execution is refused with 409 ``execution_closed`` and
    nothing is stored; a payload that does not match the type the workflow declares for
    ``name`` is 422. With ``start``, the execution is started first unless it exists, in the
    same transaction (needs ``workflows:start`` too); an id held by another workflow is 409
    ``execution_id_taken`` and nothing is sent.
    """
    engine = engine_of(request)
    payload = payloads.encode(body.payload, what="payload")
    if body.start is None:
        sent = await engine.send_message(
            execution_id, message_states.MESSAGE, body.name, payload, key=body.key, access=caller
        )
        return MessageSent(message_id=sent.message_id, stored=sent.stored)
    start = body.start
    await may_start(engine, caller, start.workflow, check_known=start.check_known)
    with traces.served(request, "send_with_start", execution_id=execution_id, workflow_name=start.workflow):
        started, sent = await engine.send_with_start(
            execution_id, start.workflow, payloads.encode_args(start.args, what="args"), (body.name, payload, body.key),
            access=caller, timeout_ms=wire.timeout_ms(start.timeout), timeout_known="timeout" in start.model_fields_set,
            priority=start.priority, trace=tracing.current(),
        )  # fmt: skip
    return MessageSent(message_id=sent.message_id, stored=sent.stored, started=started)


@router.post(
    f"/requests/{paths.EXECUTION_ID}",
    operation_id="sendRequest",
    response_model=RequestOutcome,
    responses=refusals(*_TO_EXECUTION, errors.ExecutionClosed, errors.MessageKeyReused, errors.RequestRejected),
)
async def send_request(
    execution_id: str, body: SendRequest, request: Request, caller: Caller
) -> RequestOutcome | Response:
    """Send a request and wait up to ``wait`` seconds for the workflow's answer.

    The reply comes with state ``replied``; a rejection is 409 ``request_rejected`` with its
    ``reason``; an execution that closes without answering is 409 ``execution_closed``. If no
    answer came in time, the state says where the request stands: send the same ``key``
    again to go on waiting for the same request (without a key, a second call is a second request).
    """
    engine = engine_of(request)
    payload = payloads.encode(body.payload, what="payload")
    sent = await engine.send_message(
        execution_id, message_states.REQUEST, body.name, payload, key=body.key, access=caller
    )
    began = engine.clock.now_ms()
    try:
        answer = await long_polls.wait(request, engine.request_answer(execution_id, sent.message_id, body.wait))
    except long_polls.CallerGone:
        return Response(status_code=204)  # the client is gone and reads no answer
    if answer is None:  # the server stops: say where it stands now
        answer = await engine.request_answer(execution_id, sent.message_id, 0)
    reply = json.loads(answer.reply) if answer.reply is not None else None
    waited = (engine.clock.now_ms() - began) / 1000
    return RequestOutcome(request_id=sent.message_id, state=answer.state, reply=reply, waited=waited)
