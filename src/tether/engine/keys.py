"""Signing keys for activity tokens, kept in the store and cached in memory."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from tether.errors import InvalidToken, UsageError
from tether.model import tokens
from tether.model.tokens import Claims
from tether.store.base import Transaction


@dataclass(frozen=True, slots=True)
class Verified:
    """A token's claims, and the key that verified them before its transaction (see ``SigningKeys.verify_known``)."""

    token: str
    claims: Claims
    secret: bytes


class SigningKeys:
    """Signs and verifies tokens with the store's keys; the newest key signs.

    The first use creates a key in the store; a token naming a key this process has not
    seen yet (rotated by another process) reloads the keys once before it is refused.
    """

    def __init__(self) -> None:
        self._keys: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def _current(self, tx: Transaction, now_ms: int, *, reload: bool = False) -> dict[int, bytes]:
        """The keys as this transaction sees them; a key created here is cached only once committed."""
        if self._keys and not reload:
            return self._keys
        keys = tx.signing_keys()
        if not keys:
            # Verification reads keys before it refuses; verification is one of the few
            # places this first key may be created, and that transaction may roll back.
            tx.insert_signing_key(1, secrets.token_bytes(32), now_ms)
            keys = tx.signing_keys()
            tx.after_commit(lambda: self._install(keys))
            return keys
        self._install(keys)
        return keys

    def _install(self, keys: dict[int, bytes]) -> None:
        with self._lock:
            if len(keys) >= len(self._keys):
                self._keys = keys

    def sign(self, tx: Transaction, claims: Claims, now_ms: int) -> str:
        """The token of one attempt (TokenClaims) or of one activity (ActivityClaims)."""
        keys = self._current(tx, now_ms)
        key_id = max(keys)
        return tokens.sign(claims, key_id, keys[key_id])

    def newest(self, tx: Transaction, now_ms: int) -> tuple[int, bytes]:
        """The newest key and its id (creating the first), for sealing a secret under it."""
        keys = self._current(tx, now_ms)
        key_id = max(keys)
        return key_id, keys[key_id]

    def sign_known(self, claims: Claims) -> str:
        """Sign with the newest key this process knows, without a transaction (it signed or verified before).

        A key another process added since is not known yet; an older one signs tokens that
        verify all the same.

        Raises:
            UsageError: no key is known yet (nothing was signed or verified in this process).
        """
        keys = self._keys
        if not keys:
            raise UsageError("no signing key is known yet: sign within a transaction first")
        key_id = max(keys)
        return tokens.sign(claims, key_id, keys[key_id])

    def verify(self, tx: Transaction, token: str, now_ms: int, ahead: Verified | None = None) -> Claims:
        """Check a token before anything else is read.

        ``ahead``: the same token as :meth:`verify_known` found it. If the key of its id is
        still the one that verified it, the claims are those: the signature is not computed
        again.

        Raises:
            InvalidToken: forged, altered, truncated or signed by an unknown key.
        """
        key_id = tokens.key_id_of(token)
        keys = self.keys_with(tx, key_id, now_ms)
        if ahead is not None and ahead.token == token and keys[key_id] == ahead.secret:
            return ahead.claims
        return tokens.verify(token, keys)

    def verify_known(self, token: str) -> Verified | None:
        """What a token names, if it verifies with a key this process knows (None otherwise), without a transaction."""
        keys = self._keys
        try:
            claims = tokens.verify(token, keys)
        except InvalidToken:
            return None
        return Verified(token, claims, keys[tokens.key_id_of(token)])

    def keys_with(self, tx: Transaction, key_id: int, now_ms: int) -> dict[int, bytes]:
        """The keys, once they hold ``key_id`` (reloaded once for a key another process made).

        Raises:
            InvalidToken: no key has this id.
        """
        keys = self._current(tx, now_ms)
        if key_id not in keys:
            keys = self._current(tx, now_ms, reload=True)
            if key_id not in keys:
                raise InvalidToken("the token is signed by an unknown key")
        return keys

    def keys_with_id(self, tx: Transaction, key_id: int, now_ms: int) -> dict[int, bytes] | None:
        """Like :meth:`keys_with`, None when no key has this id."""
        try:
            return self.keys_with(tx, key_id, now_ms)
        except InvalidToken:
            return None

    def load(self, tx: Transaction, now_ms: int) -> None:
        """Have the keys in memory (creating the first), so that :meth:`newest_loaded` has one once this commits."""
        self._current(tx, now_ms)

    def newest_loaded(self) -> tuple[int, bytes] | None:
        """The newest key this process has loaded, for signing outside a transaction; None before any."""
        keys = self._keys
        if not keys:
            return None
        key_id = max(keys)
        return key_id, keys[key_id]

    def rotate(self, tx: Transaction, now_ms: int) -> int:
        """Add a new key that signs from now on; older keys still verify. Returns its id."""
        key_id = max(self._current(tx, now_ms, reload=True)) + 1
        tx.insert_signing_key(key_id, secrets.token_bytes(32), now_ms)
        keys = tx.signing_keys()
        tx.after_commit(lambda: self._install(keys))
        return key_id
