"""The client's side of authentication across masters and retries (pure: ``now`` and nonces come in).

A scheduler driver or an agent with a principal and secret keeps one
``Authenticatee``: before each registration with a master it has not
authenticated with, it sends ``start()``'s Authenticate instead, answers the
master's challenge with ``response()``, and once ``completed()`` verifies the
master's proof it registers. A lost master (``reset()``) means authenticating
again with the next one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from actors.security.exchange import AUTHENTICATION_TIMEOUT, MECHANISM, NONCE_BYTES, ClientExchange
from transport import messages as m

__all__ = ["Authenticatee"]


class Authenticatee:
    def __init__(self, principal: str, secret: str, nonce: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.principal = principal
        self._secret = secret
        self._nonce = nonce
        self._exchange: ClientExchange | None = None
        self._started = 0.0
        self.authenticated_with = ""  # the master pid the last exchange succeeded with
        self.refused_by = ""  # the master pid that refused it: register unauthenticated, the master decides
        self.refusal = ""  # what it said

    def __repr__(self) -> str:
        return f"Authenticatee(principal={self.principal!r})"

    def needed(self, master: str) -> bool:
        """True until an exchange with ``master`` has succeeded or been refused by it."""
        return master not in (self.authenticated_with, self.refused_by)

    def in_progress(self, master: str, now: float) -> bool:
        """An exchange with ``master`` started under AUTHENTICATION_TIMEOUT ago is still waiting."""
        ex = self._exchange
        return ex is not None and ex.master_pid == master and now - self._started < AUTHENTICATION_TIMEOUT

    def start(self, client_pid: str, master: str, now: float) -> m.Authenticate:
        self.authenticated_with = self.refused_by = self.refusal = ""
        self._exchange = ClientExchange(self.principal, self._secret, client_pid, master, self._nonce(NONCE_BYTES))
        self._started = now
        return m.Authenticate(principal=self.principal, nonce=self._exchange.nonce, mechanism=MECHANISM)

    def response(self, master: str, msg: m.AuthenticationChallenge) -> m.AuthenticationResponse | None:
        """The answer to ``master``'s challenge; None when no exchange with it awaits one."""
        ex = self._exchange
        if ex is None or ex.master_pid != master:
            return None
        try:
            return m.AuthenticationResponse(proof=ex.response(msg.nonce))
        except ValueError:  # a second challenge for one exchange
            return None

    def completed(self, master: str, msg: m.AuthenticationCompleted) -> bool:
        """True when ``master`` proved it holds the secret: authenticated with it from now on."""
        ex = self._exchange
        if ex is None or ex.master_pid != master or not ex.verify(msg.proof):
            return False
        self._exchange = None
        self.authenticated_with = master
        return True

    def refused(self, master: str, message: str) -> bool:
        """``master`` refused us (as pymesos' credentials, they were offered; whether an
        unauthenticated registration is accepted is the master's call). True if it ended an
        exchange in progress (else it refused a registration)."""
        ex, self._exchange = self._exchange, None
        if ex is None or ex.master_pid != master:
            return False
        self.authenticated_with, self.refused_by, self.refusal = "", master, message
        return True

    def reset(self) -> None:
        """Authenticate afresh before the next registration."""
        self._exchange = None
        self.authenticated_with = self.refused_by = self.refusal = ""
