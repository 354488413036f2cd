"""The Step Functions task-token API at /compat/sfn: AWS SDKs complete, fail and heartbeat tether activities.

An unmodified AWS SDK pointed at ``<server>/compat/sfn`` (boto3:
``boto3.client("stepfunctions", endpoint_url=...)``) sends ``SendTaskSuccess``,
``SendTaskFailure`` and ``SendTaskHeartbeat`` with tether tokens, signed with SigV4 by an API
key that has a SigV4 secret (its id is the access key id). Each call is the REST API's call of
the same name, with the same scopes, deadlines (a passed one applied first), stale tokens and
repeats; only the answers speak AWS:

===========================================  =========================
tether                                        AWS error code
===========================================  =========================
invalid token                                 InvalidToken
no such execution or activity                 TaskDoesNotExist
stale token, activity closed, no attempt     TaskTimedOut
cancellation requested                       TaskTimedOut (recorded cancelled)
result not JSON, or not of the declared type  InvalidOutput
no activities:write scope for the workflow   AccessDeniedException
===========================================  =========================

Step Functions clients never report a cancellation, so when the workflow asked the activity
to stop, the call records the cancellation itself (the activity ends cancelled, as if it had
reported so) and answers TaskTimedOut, as Step Functions answers a task that was stopped.
The routes are always served: nothing is reachable through them without a key that was
given a SigV4 secret. They are not part of tether's REST API, nor of its OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tether import errors
from tether.engine.engine import Engine
from tether.model import payloads
from tether.model.access import Access
from tether.service import auth, sigv4
from tether.service.aws_protocol import AwsError, answer, refusal
from tether.service.state import engine_of

PATH = "/compat/sfn"
SERVICE = "states"
TARGET_PREFIX = "AWSStepFunctions."
DEFAULT_ERROR = "States.TaskFailed"
"""The error name of a SendTaskFailure that gives none (Step Functions' name for a failed task)."""

TOKEN_MAX = 2048
OUTPUT_MAX = 262144
ERROR_MAX = 256
CAUSE_MAX = 32768
"""The limits of botocore's service model for stepfunctions (output: 256 KiB of UTF-8)."""

router = APIRouter(include_in_schema=False)

_CANCELLED = "cancellation was requested: the activity is recorded cancelled"


def _validation(problems: list[str]) -> AwsError:
    count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
    return AwsError("ValidationException", f"{count}: {'; '.join(problems)}")


def _string(body: dict[str, Any], name: str, *, required: bool, low: int, high: int, problems: list[str]) -> str:
    value = body.get(name)
    if value is None:
        if required:
            problems.append(f"Value null at '{name}' failed to satisfy constraint: Member must not be null")
        return ""
    if not isinstance(value, str):
        problems.append(f"Value at '{name}' failed to satisfy constraint: Member must be a string")
        return ""
    size = len(value.encode()) if name == "output" else len(value)
    if not low <= size <= high:
        problems.append(
            f"Value at '{name}' failed to satisfy constraint: Member must have length between {low} and {high}"
        )
    return value


def _fields(raw: bytes, *names: tuple[str, bool, int, int]) -> list[str]:
    """The string members of a request body, each checked against the service model's constraints."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise AwsError("SerializationException", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise AwsError("SerializationException", "the request body is not a JSON object")
    problems: list[str] = []
    values = [
        _string(body, name, required=required, low=low, high=high, problems=problems)
        for name, required, low, high in names
    ]
    if problems:
        raise _validation(problems)
    return values


def _aws_error(error: errors.TetherError, *, output: bool = False) -> AwsError:
    """The AWS error a Step Functions client expects for a tether refusal."""
    match error:
        case errors.InvalidToken():
            return AwsError("InvalidToken", error.message)
        case errors.PermissionDenied():
            return AwsError("AccessDeniedException", error.message)
        case errors.ExecutionNotFound():
            return AwsError("TaskDoesNotExist", error.message)
        case errors.StaleToken() | errors.ActivityAlreadyClosed() | errors.NoAttemptOpen() | errors.ExecutionClosed():
            return AwsError("TaskTimedOut", error.message)
        case errors.InvalidPayload() | errors.PayloadTooLarge() if output:
            return AwsError("InvalidOutput", error.message)
        case errors.InvalidPayload() | errors.PayloadTooLarge():
            return AwsError("ValidationException", error.message)
        case errors.StoreUnavailable():
            return AwsError("ServiceUnavailable", error.message, status=503)
        case _:
            return AwsError("InternalFailure", "the server failed; see its log", status=500)


async def _cancelled_first(engine: Engine, token: str, access: Access) -> None:
    """Record a requested cancellation as reported (then TaskTimedOut); otherwise let the call go on.

    A refusal here (no cancellation requested, a closed activity, a stale token...) writes
    nothing: the call itself then meets the same state and answers for it.
    """
    try:
        await engine.report_activity_cancelled(token, None, access=access)
    except errors.Refused:
        return
    raise AwsError("TaskTimedOut", _CANCELLED)


async def _send_task_success(engine: Engine, raw: bytes, access: Access) -> None:
    token, output = _fields(raw, ("taskToken", True, 1, TOKEN_MAX), ("output", True, 0, OUTPUT_MAX))
    try:
        value = json.loads(output, parse_constant=_not_json)
    except ValueError:
        raise AwsError("InvalidOutput", "the output is not a JSON text") from None
    try:
        text = payloads.encode(value, what="output")
        await _cancelled_first(engine, token, access)
        await engine.complete_activity(token, text, access=access)
    except errors.TetherError as exc:
        raise _aws_error(exc, output=True) from exc


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


async def _send_task_failure(engine: Engine, raw: bytes, access: Access) -> None:
    token, error, cause = _fields(
        raw, ("taskToken", True, 1, TOKEN_MAX), ("error", False, 0, ERROR_MAX), ("cause", False, 0, CAUSE_MAX)
    )
    try:
        await _cancelled_first(engine, token, access)
        await engine.fail_activity(
            token, error=error or DEFAULT_ERROR, message=cause, details=None, non_retryable=False, access=access
        )
    except errors.TetherError as exc:
        raise _aws_error(exc) from exc


async def _send_task_heartbeat(engine: Engine, raw: bytes, access: Access) -> None:
    (token,) = _fields(raw, ("taskToken", True, 1, TOKEN_MAX))
    try:
        beat = await engine.heartbeat_activity(token, None, access=access)
        if beat.cancel_requested:
            await _cancelled_first(engine, token, access)
    except errors.TetherError as exc:
        raise _aws_error(exc) from exc


_OPERATIONS: dict[str, Callable[[Engine, bytes, Access], Awaitable[None]]] = {
    "SendTaskSuccess": _send_task_success,
    "SendTaskFailure": _send_task_failure,
    "SendTaskHeartbeat": _send_task_heartbeat,
}


async def _authenticate(request: Request, engine: Engine) -> Access:
    """The access of the API key whose SigV4 secret signed the request, as it arrived.

    The body is read only once the signature's key is known (as the REST API reads none for
    an unknown caller); it is then part of what the signature must cover.
    """
    credential = sigv4.credential_of(request.headers.get("authorization"), service=SERVICE)
    if "x-amz-target" not in credential.signed_headers:
        raise AwsError("IncompleteSignatureException", "the signature must cover the header x-amz-target")
    sigv4.check_time(credential, request.headers.get("x-amz-date"), engine.clock.now_ms())
    if "x-amz-security-token" in request.headers:
        raise AwsError("UnrecognizedClientException", "tether takes no session tokens: sign with an API key's secret")
    try:
        access, secret = await engine.sigv4_credentials(credential.access_key_id)
    except errors.Unauthenticated as exc:
        raise AwsError(
            "UnrecognizedClientException", f"The security token included in the request is invalid: {exc.message}"
        ) from exc
    sigv4.verify(
        secret, credential, method=request.method, raw_path=_raw_path(request),
        query_string=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
        body=await request.body(),
    )  # fmt: skip
    return access


def _raw_path(request: Request) -> str:
    """The path as it was sent (still percent-encoded), which is what the client signed."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path


@router.post(PATH)
@router.post(f"{PATH}/")
async def step_functions(request: Request) -> Response:
    """One Step Functions call (named by X-Amz-Target), signed with SigV4; ``{}`` when it is taken."""
    engine = engine_of(request)
    try:
        access = await _authenticate(request, engine)
        auth.remember(request.scope, access)  # for the refusal log
        body = await request.body()  # read (and cached) by the signature's check
        target = request.headers.get("x-amz-target", "")
        operation = _OPERATIONS.get(target.removeprefix(TARGET_PREFIX)) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            served = ", ".join(TARGET_PREFIX + name for name in _OPERATIONS)
            raise AwsError("UnknownOperationException", f"{target or 'no X-Amz-Target'} is not served; {served} are")
        await operation(engine, body, access)
    except AwsError as exc:
        return refusal(exc)
    except errors.StoreUnavailable as exc:
        return refusal(_aws_error(exc))
    return answer({})
