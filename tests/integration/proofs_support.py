"""Raw ZeroMQ test clients speaking for an address of their own: they answer the transport's
challenges (``\\x00prove``, transport.senders) that arrive at their ROUTER, as an Endpoint does."""

from __future__ import annotations

import zmq

__all__ = ["PROVE", "answer_proof"]

PROVE = b"\x00prove "


def answer_proof(frame: bytes, context: zmq.Context) -> bool:  # type: ignore[type-arg]
    """If ``frame`` (the last part of what a raw ROUTER got) is a challenge, answer it from a
    fresh DEALER to the challenger and say so."""
    if not frame.startswith(PROVE):
        return False
    _, reply, token, _identity = frame.split(b" ")
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 1000)
    dealer.connect(f"tcp://{reply.decode()}")
    dealer.send(b"\x00proven " + token)
    dealer.close()
    return True
