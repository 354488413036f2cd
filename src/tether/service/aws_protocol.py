"""The AWS JSON 1.0 protocol's side of the server: its content type, and its error answers.

AWS SDKs read an error's code from ``__type`` in the body (or the ``x-amzn-ErrorType``
header) and its text from ``message``; botocore turns a code the service model declares into
its exception class (``client.exceptions.TaskTimedOut``), any other into a ``ClientError``.
"""

from __future__ import annotations

import json
import uuid

from starlette.responses import Response

CONTENT_TYPE = "application/x-amz-json-1.0"


class AwsError(Exception):
    """A request of an AWS SDK was refused; ``aws_code`` is the AWS error code its SDK expects.

    Not a TetherError: it never leaves the compatibility routes, which answer it in AWS's
    shape, and tether's own clients never see its code.
    """

    def __init__(self, aws_code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.aws_code = aws_code
        self.status = status


def answer(body: dict[str, object], *, status: int = 200, error: str | None = None) -> Response:
    """A response of the AWS JSON 1.0 protocol, with the request id AWS SDKs log."""
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if error is not None:
        headers["x-amzn-ErrorType"] = f"{error}:"
    return Response(json.dumps(body), status_code=status, media_type=CONTENT_TYPE, headers=headers)


def refusal(error: AwsError) -> Response:
    """The answer that reports ``error``: ``{"__type": code, "message": text}``."""
    return answer({"__type": error.aws_code, "message": error.message}, status=error.status, error=error.aws_code)
