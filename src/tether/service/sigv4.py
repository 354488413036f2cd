"""AWS Signature Version 4: checking that a request was signed with an API key's SigV4 secret.

What AWS SDKs send: an ``Authorization`` header
``AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/<service>/aws4_request,
SignedHeaders=<names>, Signature=<hex>``, and an ``X-Amz-Date`` header. The signature is an
HMAC-SHA256, under a key derived from the secret, the date, the region and the service, of a
canonical form of the request: method, path, query, the signed headers and a hash of the body.
The check rebuilds that form from what arrived and compares in constant time, so a request
altered in any signed part (the body included) is refused. Any region is taken; the service
must be the one the routes serve. ``host`` and ``x-amz-date`` must be signed (the Step Functions
routes also require ``x-amz-target``, the operation), and the time must lie within
:data:`MAX_SKEW_MS` of the server's clock (the injected one, as every deadline).

References: AWS's "Create a signed AWS API request" (Signature Version 4) documentation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from tether.model.clock import from_ms
from tether.service.aws_protocol import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_MS = 15 * 60 * 1000
"""How far a request's X-Amz-Date may lie from the server's clock, either way (AWS's limit)."""
_REQUIRED = ("host", "x-amz-date")
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True, slots=True)
class Credential:
    """What an Authorization header claims: who signed, for which day, region and service, and how."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        """The credential scope the string to sign names."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _incomplete(message: str) -> AwsError:
    return AwsError("IncompleteSignatureException", message)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidSignatureException", message)


def credential_of(authorization: str | None, *, service: str) -> Credential:
    """Read the Authorization header of a signed request.

    Raises:
        AwsError: MissingAuthenticationTokenException when the request is not signed at all;
            IncompleteSignatureException when the header is malformed or signs too little;
            InvalidSignatureException when it is scoped to another service.
    """
    if authorization is None or not authorization.strip():
        raise AwsError(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: sign the request with SigV4 (an AWS SDK does), using an API key's "
            "id as the access key id and its SigV4 secret ('tether keys sigv4') as the secret access key",
        )
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"only {ALGORITHM} signatures are accepted, not {algorithm!r}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, value = part.strip().partition("=")
        if not equals or name in fields:
            raise _incomplete(f"the Authorization header has a malformed or repeated part {part.strip()!r}")
        fields[name] = value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise _incomplete(f"the Authorization header lacks {', '.join(missing)}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        raise _incomplete("the Credential reads <access key id>/<yyyymmdd>/<region>/<service>/aws4_request")
    access_key_id, date, region, scoped_service, _ = scope
    if scoped_service != service:
        raise _invalid(f"Credential should be scoped to correct service: '{service}'")
    signed = tuple(fields["SignedHeaders"].split(";"))
    if list(signed) != sorted(set(signed)) or any(name != name.lower() or not name for name in signed):
        raise _incomplete("SignedHeaders lists header names in lower case, sorted, each once")
    unsigned = [name for name in _REQUIRED if name not in signed]
    if unsigned:
        raise _incomplete(f"the signature must cover the headers {', '.join(unsigned)}")
    return Credential(access_key_id, date, region, scoped_service, signed, fields["Signature"])


def check_time(credential: Credential, amz_date: str | None, now_ms: int) -> None:
    """Refuse a signature of another day than its X-Amz-Date, or one further than 15 minutes from now.

    Raises:
        AwsError: IncompleteSignatureException without a well-formed X-Amz-Date;
            InvalidSignatureException when the dates disagree, or the time is too far off.
    """
    try:
        signed_at = datetime.strptime(amz_date or "", _TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete("the request needs an X-Amz-Date header reading yyyymmddThhmmssZ") from None
    assert amz_date is not None
    if amz_date[:8] != credential.date:
        raise _invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP")
    now = from_ms(now_ms)
    skew_ms = int((signed_at - now).total_seconds() * 1000)
    stamp = now.strftime(_TIMESTAMP)
    if skew_ms < -MAX_SKEW_MS:
        raise _invalid(f"Signature expired: {amz_date} is now earlier than the server's time {stamp} - 15 min.")
    if skew_ms > MAX_SKEW_MS:
        raise _invalid(f"Signature not yet current: {amz_date} is still later than the server's time {stamp} + 15 min.")


def canonical_path(raw_path: str) -> str:
    """The path as SigV4 signs it: dot segments and empty segments removed, each segment URI-encoded."""
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return quote(path, safe="/~")


def canonical_query(query_string: str) -> str:
    """The query as SigV4 signs it: each name and value URI-encoded, sorted."""
    pairs = []
    for pair in query_string.split("&") if query_string else []:
        name, _, value = pair.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(
    credential: Credential,
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    payload_hash: str,
) -> str:
    """The canonical form of a request, as its signer built it (``headers``: every header as received)."""
    lines = [method.upper(), canonical_path(raw_path), canonical_query(query_string)]
    for name in credential.signed_headers:
        values = [" ".join(value.split()) for key, value in headers if key.lower() == name]
        lines.append(f"{name}:{','.join(values)}")
    lines += ["", ";".join(credential.signed_headers), payload_hash]
    return "\n".join(lines)


def signature(secret: str, credential: Credential, amz_date: str, request: str) -> str:
    """The hex signature of a canonical request under ``secret``."""
    to_sign = "\n".join([ALGORITHM, amz_date, credential.scope, hashlib.sha256(request.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (credential.date, credential.region, credential.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(
    secret: str,
    credential: Credential,
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
) -> None:
    """Refuse unless the request, as received, carries the signature ``secret`` gives it.

    Raises:
        AwsError: InvalidSignatureException when the signature differs, or the body is not
            the one an X-Amz-Content-SHA256 header names.
    """
    payload_hash = hashlib.sha256(body).hexdigest()
    claimed = [value.strip() for key, value in headers if key.lower() == "x-amz-content-sha256"]
    if claimed and claimed != [payload_hash]:
        raise _invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
    amz_date = next(value for key, value in headers if key.lower() == "x-amz-date")
    request = canonical_request(
        credential, method=method, raw_path=raw_path, query_string=query_string, headers=headers,
        payload_hash=payload_hash,
    )  # fmt: skip
    expected = signature(secret, credential, amz_date.strip(), request)
    if not hmac.compare_digest(expected.encode(), credential.signature.encode()):
        raise _invalid(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
