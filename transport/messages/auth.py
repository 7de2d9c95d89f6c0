"""Messages of the authentication exchange (docs/protocol.md, "Authentication").

A client (scheduler driver or agent) proves to the master that it knows its
principal's secret without sending it: HMAC-SHA256 over both nonces and both
pids. Four steps, each answered by the other side; the secret never travels.
"""

from __future__ import annotations

from transport.schema import Message, message

__all__ = [
    "Authenticate",
    "AuthenticationChallenge",
    "AuthenticationResponse",
    "AuthenticationCompleted",
    "AuthenticationFailed",
]


@message
class Authenticate(Message):
    """client -> master: start an exchange as ``principal`` with a fresh ``nonce`` (bytes)."""

    principal: str
    nonce: bytes
    mechanism: str = "HMAC-SHA256-1"


@message
class AuthenticationChallenge(Message):
    """master -> client: the master's fresh ``nonce`` for this exchange."""

    nonce: bytes


@message
class AuthenticationResponse(Message):
    """client -> master: ``proof`` = HMAC(secret, client role, principal, pids, both nonces)."""

    proof: bytes


@message
class AuthenticationCompleted(Message):
    """master -> client: accepted; ``proof`` is the master's HMAC (server role), so the client knows
    the master holds the secret too."""

    proof: bytes


@message
class AuthenticationFailed(Message):
    """master -> client: the exchange (or a registration needing one) was refused; ``message`` says why."""

    message: str = ""
