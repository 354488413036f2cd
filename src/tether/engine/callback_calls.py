"""The engine's calls behind callback URLs: sign one for a running attempt; complete or fail by one."""

from __future__ import annotations

from typing import Any

from tether.engine import activities
from tether.engine.core import EngineCore
from tether.errors import CallbackExpired, InvalidToken, UsageError
from tether.model import callback_tokens
from tether.model.callback_tokens import CallbackAction, CallbackClaims
from tether.model.clock import from_ms
from tether.model.events import failure
from tether.model.tokens import TokenClaims
from tether.store.base import Transaction


class CallbackCalls(EngineCore):
    """Callback URLs' transitions: the token in the URL is the only permission they need.

    Past the token's own checks (signature, action, expiry), a call by callback URL is the
    call by token it stands for: the same exactness, the same refusals, deadlines that passed
    applied first.
    """

    async def load_signing_keys(self) -> None:
        """Load the store's signing keys into this process (creating the first), for :meth:`sign_callback`."""
        now = self.clock.now_ms()
        await self._run(lambda tx: self._keys.load(tx, now))

    def sign_callback(self, claims: CallbackClaims) -> str:
        """The token of a callback URL, signed with the newest key this process loaded; no I/O, from any thread.

        Raises:
            UsageError: no key is loaded yet (see :meth:`load_signing_keys`).
        """
        newest = self._keys.newest_loaded()
        if newest is None:
            raise UsageError("no signing key is loaded in this process yet; call load_signing_keys() first")
        key_id, secret = newest
        return callback_tokens.sign(claims, key_id, secret)

    async def complete_by_callback(self, token: str, result: str) -> bool:
        """Complete the attempt a complete callback URL names; False if this same completion was recorded before.

        Raises:
            InvalidToken: the URL is forged, altered, or a fail URL.
            CallbackExpired: its expiry has passed (on the engine's clock, now).
            StaleToken, ActivityAlreadyClosed, InvalidPayload, ExecutionNotFound: as ``complete_activity``.
        """
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: activities.complete(tx, self._callback(tx, token, "complete", now), result, now, check_type=True)
        )

    async def fail_by_callback(
        self, token: str, *, error: str, message: str, details: Any, non_retryable: bool
    ) -> bool:
        """Fail the attempt a fail callback URL names (retried by policy); False if this same failure was recorded.

        Raises:
            InvalidToken: the URL is forged, altered, or a complete URL.
            CallbackExpired: its expiry has passed (on the engine's clock, now).
            StaleToken, ActivityAlreadyClosed, ExecutionNotFound: as ``fail_activity``.
        """
        now = self.clock.now_ms()
        fault = failure(error, message, details=details, non_retryable=non_retryable)
        return await self._run(lambda tx: activities.fail(tx, self._callback(tx, token, "fail", now), fault, now))

    def _callback(self, tx: Transaction, token: str, action: CallbackAction, now_ms: int) -> TokenClaims:
        """The attempt a callback URL names, once its signature, action and expiry allow ``action`` now."""
        keys = self._keys.keys_with(tx, callback_tokens.key_id_of(token), now_ms)
        claims = callback_tokens.verify(token, keys)
        if claims.action != action:
            raise InvalidToken(f"this callback URL was made to {claims.action} the activity, not to {action} it")
        if claims.expires_at_ms is not None and now_ms >= claims.expires_at_ms:
            raise CallbackExpired(expired_at=from_ms(claims.expires_at_ms).isoformat())
        return claims.attempt_claims
