"""A token has one spelling: every other string, even one that decodes to the same bytes, is refused.

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

HAS_DASH_AND_UNDERSCORE = "~~~???"
"""In base64, a byte '~' spells '-' and a '?' spells '_' when it ends a group of three bytes;
three in a row put one of each there wherever the text starts."""


def _respelt(token: str, part: str, respelling: Respelling) -> str:
    parts = token.split(".")
    parts[PARTS[part]] = respelling.change(parts[PARTS[part]])
    return ".".join(parts)


def _body_of(execution_id: str) -> str:
    """The body of the first attempt's token of the first activity of ``execution_id`` (key 1)."""
    return tokens.sign(tokens.TokenClaims(execution_id, 1, 1), 1, b"").split(".")[0]


CANDIDATE_IDS = [
    execution_id
    for execution_id in (f"spelling-{n}{HAS_DASH_AND_UNDERSCORE}" for n in range(200))
    if all(r.applies(_body_of(execution_id)) for r in RESPELLINGS.values())
][:64]
"""Execution ids whose token bodies hold '-' and '_' and end in a character with unused bits,
so that every respelling applies to the body (the signature's characters are random)."""


async def _token_for(env: tether.testing.TestEnvironment, part: str, respelling: Respelling) -> tuple[Mailbox, str]:
    """Start executions until one's token has a ``part`` the respelling applies to."""
    for execution_id in CANDIDATE_IDS:
        box = Mailbox(execution_id)
        await env.client.start_workflow(tr_run, "o1", id=box.id)
        token = (await box.context()).token
        if respelling.applies(token.split(".")[PARTS[part]]):
            return box, token
    raise AssertionError(f"no token of {len(CANDIDATE_IDS)} executions has a {part} the respelling applies to")


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
async def test_respelt_token_is_refused_and_changes_nothing(name: str, part: str) -> None:
    respelling = RESPELLINGS[name]
    async with environment() as env:
        box, token = await _token_for(env, part, respelling)
        respelt = _respelt(token, part, respelling)
        assert respelt != token
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        for use in USES.values():
            with pytest.raises(InvalidToken):
                await use(env.client, respelt)

        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before
        await env.client.complete_activity(token, "done")
        assert await result_of(env.client.get_handle(box.id)) == "done"


SECRET = bytes(range(32))
CLAIMS, TOKEN = next(
    (claims, token)
    for claims in (tokens.TokenClaims(f"order/{n}-é{HAS_DASH_AND_UNDERSCORE}", 3, 2) for n in itertools.count())
    for token in [tokens.sign(claims, 1, SECRET)]
    if all(r.applies(part) for part in token.split(".") for r in RESPELLINGS.values())
)
"""A token whose body and signature both hold '-' and '_' and end in a character with unused bits."""

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

SIGNED: dict[str, tuple[str, Callable[[str, dict[int, bytes]], object]]] = {
    "activity token": (TOKEN, tokens.verify),
    "callback token": (CALLBACK_TOKEN, callback_tokens.verify),
}


@pytest.mark.single_backend
@pytest.mark.parametrize("kind", list(SIGNED))
@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("name", list(RESPELLINGS))
def test_respelt_token_is_refused_by_verification(name: str, part: str, kind: str) -> None:
    token, verify = SIGNED[kind]
    respelt = _respelt(token, part, RESPELLINGS[name])
    assert respelt != token
    with pytest.raises(InvalidToken):
        verify(respelt, {1: SECRET})


@pytest.mark.single_backend
@pytest.mark.parametrize("name", list(RESPELLINGS))
def test_respelt_body_is_refused_before_its_key_is_looked_up(name: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.key_id_of(_respelt(TOKEN, "body", RESPELLINGS[name]))


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
@given(
    st.text(max_size=40),
    st.integers(min_value=0, max_value=2**40),
    st.integers(min_value=1, max_value=2**20),
    st.integers(min_value=1, max_value=10),
)
def test_every_signed_token_verifies_to_its_claims(execution_id: str, activity_id: int, attempt: int, key: int) -> None:
    claims = tokens.TokenClaims(execution_id, activity_id, attempt)
    assert tokens.verify(tokens.sign(claims, key, SECRET), {key: SECRET}) == claims
