"""A token (of an attempt or of an activity) has one spelling: any other string is refused, even of the same bytes.

Lenient base64 reads padding, characters outside the alphabet, ``+/`` for ``-_`` and set
unused low bits of the last character as the same bytes; none of those strings is the token.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import tether
from tests.helpers.activity_tests import Mailbox, result_of, snapshot
from tests.tokens.test_token_refusals import USES, environment, tr_run
from tether.errors import InvalidToken
from tether.model import callback_tokens, tokens
from tether.model.callback_tokens import CallbackClaims

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _unused_bits_set(part: str) -> str:
    """``part`` with the unused low bits of its last character set: other characters, the same bytes."""
    last = ALPHABET.index(part[-1])
    return part[:-1] + ALPHABET[last + 1]


@dataclass(frozen=True)
class Respelling:
    """A change to one part of a token, and what the part must hold for the change to apply."""

    change: Callable[[str], str]
    applies: Callable[[str], bool] = lambda part: True


RESPELLINGS: dict[str, Respelling] = {
    "'=' appended": Respelling(lambda p: p + "="),
    "'==' appended": Respelling(lambda p: p + "=="),
    "'=x' appended": Respelling(lambda p: p + "=x"),
    "'!' in front": Respelling(lambda p: "!" + p),
    "'**' in the middle": Respelling(lambda p: p[:5] + "**" + p[5:]),
    "'é' at the end": Respelling(lambda p: p + "é"),
    "NUL in the middle": Respelling(lambda p: p[:3] + "\x00" + p[3:]),
    "'+' for '-'": Respelling(lambda p: p.replace("-", "+", 1), lambda p: "-" in p),
    "'/' for '_'": Respelling(lambda p: p.replace("_", "/", 1), lambda p: "_" in p),
    "unused low bits set": Respelling(_unused_bits_set, lambda p: len(p) % 4 != 0),
    "space appended": Respelling(lambda p: p + " "),
    "newline appended": Respelling(lambda p: p + "\n"),
    "CRLF appended": Respelling(lambda p: p + "\r\n"),
    "tab in front": Respelling(lambda p: "\t" + p),
}

PARTS = {"body": 0, "signature": 1}

KINDS: dict[str, Callable[[str, int], tokens.Claims]] = {
    "attempt": lambda execution_id, n: tokens.TokenClaims(execution_id, 3, n),
    "activity": lambda execution_id, n: tokens.ActivityClaims(execution_id, 3),
}
"""The two shapes of token, each made from what it names (``n`` numbers the attempt, where it names one)."""

HAS_DASH_AND_UNDERSCORE = "~~~???"
"""In base64, a byte '~' spells '-' and a '?' spells '_' when it ends a group of three bytes;
three in a row put one of each there wherever the text starts."""


def _respelt(token: str, part: str, respelling: Respelling) -> str:
    parts = token.split(".")
    parts[PARTS[part]] = respelling.change(parts[PARTS[part]])
    return ".".join(parts)


def _body_of(execution_id: str, kind: str) -> str:
    """The body of the first attempt's token (or the activity token) of the first activity of ``execution_id``."""
    claims = tokens.TokenClaims(execution_id, 1, 1) if kind == "attempt" else tokens.ActivityClaims(execution_id, 1)
    return tokens.sign(claims, 1, b"").split(".")[0]


CANDIDATE_IDS = {
    kind: [
        execution_id
        for execution_id in (f"spelling-{n}{HAS_DASH_AND_UNDERSCORE}" for n in range(200))
        if all(r.applies(_body_of(execution_id, kind)) for r in RESPELLINGS.values())
    ][:64]
    for kind in KINDS
}
"""Execution ids whose token bodies (of each kind) hold '-' and '_' and end in a character with
unused bits, so that every respelling applies to the body (the signature's characters are random)."""


async def _token_for(
    env: tether.testing.TestEnvironment, part: str, respelling: Respelling, kind: str
) -> tuple[Mailbox, str]:
    """Start executions until one's token of ``kind`` has a ``part`` the respelling applies to."""
    for execution_id in CANDIDATE_IDS[kind]:
        box = Mailbox(execution_id)
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        ctx = await box.context()
        token = ctx.token if kind == "attempt" else ctx.activity_token
        if respelling.applies(token.split(".")[PARTS[part]]):
            return box, token
    raise AssertionError(f"no {kind} token of {len(CANDIDATE_IDS[kind])} executions has a {part} it applies to")


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
async def test_respelt_token_is_refused_and_changes_nothing(name: str, part: str) -> None:
    respelling = RESPELLINGS[name]
    async with environment() as env:
        for kind in KINDS:  # an attempt token, then an activity token, each of an execution of its own
            box, token = await _token_for(env, part, respelling, kind)
            respelt = _respelt(token, part, respelling)
            assert respelt != token
            await env.wait_for_idle()
            before = await snapshot(env.client, box.id)

            for use in USES.values():
                with pytest.raises(InvalidToken):
                    await use(env.client, respelt)

            await env.wait_for_idle()
            assert await snapshot(env.client, box.id) == before, f"a respelt {kind} token changed something"
            await env.client.complete_activity(token, "done")
            assert await result_of(env.client.get_handle(box.id)) == "done"


SECRET = bytes(range(32))


def _fully_respellable(kind: str) -> tuple[tokens.Claims, str]:
    """Claims of ``kind`` whose token's body and signature hold '-' and '_' and end in a character with unused bits."""
    return next(
        (claims, token)
        for claims in (KINDS[kind](f"order/{n}-é{HAS_DASH_AND_UNDERSCORE}", 2) for n in itertools.count())
        for token in [tokens.sign(claims, 1, SECRET)]
        if all(r.applies(part) for part in token.split(".") for r in RESPELLINGS.values())
    )


SIGNED = {kind: _fully_respellable(kind) for kind in KINDS}
CLAIMS, TOKEN = SIGNED["attempt"]
ACTIVITY_CLAIMS, ACTIVITY_TOKEN = SIGNED["activity"]

CALLBACK_CLAIMS, CALLBACK_TOKEN = next(
    (claims, token)
    for claims in (
        CallbackClaims(f"order/{n}-é{HAS_DASH_AND_UNDERSCORE}", 3, 2, "complete", 1_800_000_000_000)
        for n in itertools.count()
    )
    for token in [callback_tokens.sign(claims, 1, SECRET)]
    if all(r.applies(part) for part in token.split(".") for r in RESPELLINGS.values())
)
"""The same for a callback URL's token, which is spelt the same way."""


@pytest.mark.single_backend
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
def test_respelt_token_is_refused_by_verification(name: str, part: str, kind: str) -> None:
    token = SIGNED[kind][1]
    respelt = _respelt(token, part, RESPELLINGS[name])
    assert respelt != token
    with pytest.raises(InvalidToken):
        tokens.verify(respelt, {1: SECRET})


@pytest.mark.single_backend
@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
def test_respelt_callback_token_is_refused_by_verification(name: str, part: str) -> None:
    respelt = _respelt(CALLBACK_TOKEN, part, RESPELLINGS[name])
    assert respelt != CALLBACK_TOKEN
    with pytest.raises(InvalidToken):
        callback_tokens.verify(respelt, {1: SECRET})


@pytest.mark.single_backend
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
def test_respelt_body_is_refused_before_its_key_is_looked_up(name: str, kind: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.key_id_of(_respelt(SIGNED[kind][1], "body", RESPELLINGS[name]))


def _edits(token: str) -> st.SearchStrategy[str]:
    """Strings near ``token``: a character inserted, replaced or removed, text added at either end."""
    positions = st.integers(min_value=0, max_value=len(token))
    characters = st.one_of(st.sampled_from(ALPHABET + "=+/. \n"), st.characters())
    return st.one_of(
        st.builds(lambda i, c: token[:i] + c + token[i:], positions, characters),
        st.builds(lambda i, c: token[:i] + c + token[i + 1 :], positions, characters),
        st.builds(lambda i: token[:i] + token[i + 1 :], positions),
        st.builds(lambda s: token + s, st.text(min_size=1)),
        st.builds(lambda s: s + token, st.text(min_size=1)),
        st.text(),
    )


@pytest.mark.single_backend
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the transport fixture plays no part here
@given(_edits(TOKEN))
@example(TOKEN.replace(".", "=.", 1))
@example(TOKEN + "=")
@example(_unused_bits_set(TOKEN))
def test_any_string_other_than_the_signed_one_is_refused(candidate: str) -> None:
    if candidate == TOKEN:
        assert tokens.verify(candidate, {1: SECRET}) == CLAIMS
    else:
        with pytest.raises(InvalidToken):
            tokens.verify(candidate, {1: SECRET})


@pytest.mark.single_backend
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_edits(ACTIVITY_TOKEN))
@example(ACTIVITY_TOKEN.replace(".", "=.", 1))
@example(ACTIVITY_TOKEN + "=")
@example(_unused_bits_set(ACTIVITY_TOKEN))
@example(TOKEN)
def test_any_string_other_than_the_signed_activity_token_is_refused_or_is_another_token(candidate: str) -> None:
    if candidate == ACTIVITY_TOKEN:
        assert tokens.verify(candidate, {1: SECRET}) == ACTIVITY_CLAIMS
    elif candidate == TOKEN:
        assert tokens.verify(candidate, {1: SECRET}) == CLAIMS  # the attempt token: another shape, another name
    else:
        with pytest.raises(InvalidToken):
            tokens.verify(candidate, {1: SECRET})


@pytest.mark.single_backend
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(max_size=40),
    st.integers(min_value=0, max_value=2**40),
    st.integers(min_value=1, max_value=2**20),
    st.integers(min_value=1, max_value=10),
)
def test_every_signed_token_verifies_to_its_claims(execution_id: str, activity_id: int, attempt: int, key: int) -> None:
    claims = tokens.TokenClaims(execution_id, activity_id, attempt)
    assert tokens.verify(tokens.sign(claims, key, SECRET), {key: SECRET}) == claims


@pytest.mark.single_backend
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40), st.integers(min_value=0, max_value=2**40), st.integers(min_value=1, max_value=10))
def test_every_signed_activity_token_verifies_to_its_claims_and_differs_from_every_attempt_token(
    execution_id: str, activity_id: int, key: int
) -> None:
    claims = tokens.ActivityClaims(execution_id, activity_id)
    token = tokens.sign(claims, key, SECRET)
    assert tokens.verify(token, {key: SECRET}) == claims
    assert token != tokens.sign(tokens.TokenClaims(execution_id, activity_id, 1), key, SECRET)
    assert tokens.key_id_of(token) == key


_ODD = st.one_of(
    st.floats(),  # NaN and the infinities among them
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    # Execution ids are stored as UTF-8, so none holds a lone surrogate (whose escape only json reads).
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
_ID = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what the stores keep; tokens name nothing larger


@pytest.mark.single_backend
@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(  # each slot mostly what a token holds there, so that a good share verify
            st.one_of(st.just(1), st.just(1), st.just(1), _ID, _ODD),
            st.one_of(st.text(max_size=12), st.text(max_size=12), _ODD),
            st.one_of(_ID, _ID, _ODD),
        ),
        min_size=1,
        max_size=1,
    ),
    st.lists(st.one_of(_ID, _ID, _ODD), max_size=2),
    st.sampled_from(["", " ", "\n"]),
)
def test_a_signed_body_reads_the_same_with_either_json_reader(
    named: list[tuple[object, object, object]], more: list[object], space: str
) -> None:
    """A token's body is read by orjson where the server's extra is installed, by json otherwise: the same verdicts."""
    import json

    import orjson

    items = [*named[0], *more]
    body = tokens.b64(json.dumps(items, separators=("," + space, ":")).encode())
    token = f"{body}.{tokens.b64(tokens.mac(SECRET, body.encode()))}"
    verdicts: list[object] = []
    for reader in (json.loads, orjson.loads):
        tokens._parse.cache_clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tokens, "_loads", reader)
            try:
                verdicts.append(tokens.verify(token, {1: SECRET}))
            except InvalidToken:
                verdicts.append("refused")
    tokens._parse.cache_clear()
    assert verdicts[0] == verdicts[1]
