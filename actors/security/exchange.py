"""The authentication exchange, both sides, as pure state machines (no sockets, no clock, no randomness:
``now`` and nonces are passed in).

    client -> master  Authenticate(principal, client_nonce)
    master -> client  AuthenticationChallenge(server_nonce)
    client -> master  AuthenticationResponse(proof = HMAC(secret, "client", ...))
    master -> client  AuthenticationCompleted(proof = HMAC(secret, "server", ...)) | AuthenticationFailed

Each proof is HMAC-SHA256 keyed by the principal's secret over the mechanism,
the role, the principal, the client's pid, the master's pid and both nonces.
So the secret never crosses the wire; a recorded response is worthless in a
later exchange (the master's nonce is fresh each time and an exchange accepts
one response only); a response made for one pid fails for another (the
master uses the pid the exchange came from, which the transport binds to the
connection); and the client learns the master knows the secret too.

An unknown principal gets a challenge like any other and fails at the
response, so the exchange does not tell which principals exist.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from actors.security.credentials import Credential

__all__ = [
    "AUTHENTICATION_TIMEOUT", "MECHANISM", "NONCE_BYTES", "Authenticator", "Challenge", "ClientExchange",
    "Completed", "Failed", "proof",
]

MECHANISM = "HMAC-SHA256-1"
NONCE_BYTES = 32
AUTHENTICATION_TIMEOUT = 15.0  # seconds from Authenticate to its response (Mesos' default)
MAX_PENDING = 10_000
MAX_AUTHENTICATED = 100_000


def proof(role: str, secret: str, principal: str, client_pid: str, master_pid: str,
          client_nonce: bytes, server_nonce: bytes) -> bytes:
    """HMAC-SHA256 of one side (``role`` "client" or "server") of one exchange."""
    parts = [MECHANISM.encode(), role.encode(), principal.encode(), client_pid.encode(), master_pid.encode(),
             client_nonce, server_nonce]
    data = b"".join(len(p).to_bytes(4, "big") + p for p in parts)  # length-prefixed: no ambiguity
    return hmac.new(secret.encode(), data, hashlib.sha256).digest()


@dataclass(frozen=True)
class Challenge:
    nonce: bytes


@dataclass(frozen=True)
class Completed:
    principal: str
    proof: bytes


@dataclass(frozen=True)
class Failed:
    """``reason``: a constant for counters and logs (never shown to the peer); ``message`` for the peer."""

    reason: str
    message: str


@dataclass
class _Pending:
    principal: str
    client_nonce: bytes
    server_nonce: bytes
    expires: float


class Authenticator:
    """The master's side: exchanges in progress and the principal each pid authenticated as.

    Both tables are bounded (oldest dropped first); ``forget(pid)`` when the pid is gone."""

    def __init__(self, credentials: Mapping[str, Credential], master_pid: str, *,
                 timeout: float = AUTHENTICATION_TIMEOUT, max_pending: int = MAX_PENDING,
                 max_authenticated: int = MAX_AUTHENTICATED) -> None:
        self.credentials = credentials
        self.master_pid = master_pid
        self.timeout = timeout
        self.max_pending = max_pending
        self.max_authenticated = max_authenticated
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._authenticated: OrderedDict[str, str] = OrderedDict()

    def start(self, sender: str, principal: str, mechanism: str, client_nonce: bytes, server_nonce: bytes,
              now: float) -> Challenge | Failed:
        """``sender`` begins an exchange (replacing any it had in progress; its earlier result stands
        until this one succeeds)."""
        if mechanism != MECHANISM:
            return Failed("unsupported_mechanism", f"Unsupported authentication mechanism {mechanism[:64]!r}; "
                                                   f"the master supports {MECHANISM}")
        if len(client_nonce) < 16:
            return Failed("short_nonce", "The client's nonce must be at least 16 bytes")
        self._pending.pop(sender, None)
        self._pending[sender] = _Pending(principal, client_nonce, server_nonce, now + self.timeout)
        while len(self._pending) > self.max_pending:
            self._pending.popitem(last=False)
        return Challenge(server_nonce)

    def respond(self, sender: str, client_proof: bytes, now: float) -> Completed | Failed:
        """The response to ``sender``'s exchange in progress; the exchange is over either way."""
        pending = self._pending.pop(sender, None)
        if pending is None:
            return Failed("no_exchange", "Authentication failed: no exchange in progress for this peer "
                                         "(a response is accepted once, after a fresh Authenticate)")
        if pending.expires < now:
            return Failed("expired", f"Authentication failed: the response came after {self.timeout:g} s")
        cred = self.credentials.get(pending.principal)
        secret = cred.secret if cred is not None else ""
        expected = proof("client", secret, pending.principal, sender, self.master_pid,
                         pending.client_nonce, pending.server_nonce)
        if cred is None or not hmac.compare_digest(expected, client_proof):
            reason = "unknown_principal" if cred is None else "wrong_proof"
            return Failed(reason, f"Authentication failed for principal {pending.principal[:128]!r}")
        self._authenticated.pop(sender, None)
        self._authenticated[sender] = pending.principal
        while len(self._authenticated) > self.max_authenticated:
            self._authenticated.popitem(last=False)
        return Completed(pending.principal, proof("server", secret, pending.principal, sender, self.master_pid,
                                                  pending.client_nonce, pending.server_nonce))

    def principal(self, sender: str) -> str | None:
        """The principal ``sender`` authenticated as, or None."""
        return self._authenticated.get(sender)

    def forget(self, sender: str) -> None:
        self._pending.pop(sender, None)
        self._authenticated.pop(sender, None)

    def expire(self, now: float) -> None:
        """Drop exchanges whose response is overdue (oldest first)."""
        while self._pending:
            sender, pending = next(iter(self._pending.items()))
            if pending.expires >= now:
                break
            del self._pending[sender]

    def __len__(self) -> int:
        return len(self._authenticated)


class ClientExchange:
    """The client's side of one exchange with ``master_pid``, as ``client_pid``."""

    def __init__(self, principal: str, secret: str, client_pid: str, master_pid: str, nonce: bytes) -> None:
        self.principal = principal
        self._secret = secret
        self.client_pid = client_pid
        self.master_pid = master_pid
        self.nonce = nonce
        self._server_nonce: bytes | None = None
        self.done = False

    def response(self, server_nonce: bytes) -> bytes:
        """The proof answering the master's challenge (once per exchange)."""
        if self._server_nonce is not None:
            raise ValueError("this exchange was already answered")
        self._server_nonce = server_nonce
        return proof("client", self._secret, self.principal, self.client_pid, self.master_pid, self.nonce,
                     server_nonce)

    def verify(self, server_proof: bytes) -> bool:
        """True if the master's completion proves it holds the secret (then the exchange is done)."""
        if self._server_nonce is None:
            return False
        expected = proof("server", self._secret, self.principal, self.client_pid, self.master_pid, self.nonce,
                         self._server_nonce)
        self.done = hmac.compare_digest(expected, server_proof)
        return self.done
