"""What an endpoint does with each message its ROUTER receives (no socket: the endpoint
passes in how to answer on the connection a message came on).

A message is a heartbeat or proof control frame (``\\x00...``), a frame from an
ended incarnation or for another one (``transport.watch``), or a frame of
envelopes: decoded, each bad one rejected, the good ones checked against the
address their connection speaks for (``transport.claims``) and delivered.
Rejections are counted by reason and logged within a budget per (reason,
connection) (``transport.logbudget``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from transport.claims import Claims, SendControl
from transport.codec import Envelope, decode_frame
from transport.counters import Counters
from transport.errors import DecodeError
from transport.liveness import PONG, parse_control, split_message
from transport.logbudget import LogBudget, peer_key
from transport.senders import PROVE, PROVEN, Proofs
from transport.watch import PeerWatch

__all__ = ["Inbound"]

log = structlog.get_logger("transport.endpoint")


class Inbound:
    def __init__(self, address: Callable[[], str], incarnation: str, watch: PeerWatch, proofs: Proofs[Envelope],
                 *, bound_address: Callable[[], str] = lambda: "", counters: Counters, max_frame_bytes: int, send_control: SendControl,
                 answer: Callable[[bytes, bytes], bool], on_envelope: Callable[[Envelope], None],
                 on_envelopes: Callable[[list[Envelope]], None] | None,
                 on_rejected: Callable[[DecodeError], None],
                 on_proven: Callable[[str, bytes], None] = lambda address, key: None) -> None:
        self._address = address
        self._incarnation_bytes = incarnation.encode()
        self._watch = watch
        self._counters = counters
        self._max_frame_bytes = max_frame_bytes
        self._answer = answer  # (routing id, frame) -> sent, on the connection it names
        self._on_envelope = on_envelope
        self._on_envelopes = on_envelopes
        self._on_rejected = on_rejected
        self.log_budget = LogBudget(first=10)
        self.claims = Claims(proofs, address, bound_address=bound_address, counters=counters, log_budget=self.log_budget,
                             send_control=send_control, deliver=self._deliver, reject=self.reject,
                             on_proven=on_proven, read_news=watch.read_news)

    def receive(self, identity: bytes, frames: list[bytes], key: bytes | None = None) -> None:
        """One message from connection ``identity``; ``key``: the CURVE key it authenticated with
        (None without CURVE)."""
        sender, to, frames = split_message(identity, frames)
        if len(frames) != 1:
            self.reject(DecodeError("bad_envelope", f"expected one frame per message, got {len(frames)}"),
                        identity)
        elif sender and self._watch.ended(sender):
            self._watch.stale_sender(sender)
        elif frames[0][:1] == b"\x00":
            self._control(identity, frames[0], sender, key)
        elif to and to != self._incarnation_bytes:
            self._watch.stale(to.decode("ascii", "replace"), frames[0], self._max_frame_bytes, key)
        else:
            self._dispatch(frames[0], sender, identity, key)

    def _control(self, identity: bytes, frame: bytes, sender: str, key: bytes | None) -> None:
        if frame.startswith(PROVEN + b" "):
            self.claims.proven(frame[len(PROVEN) + 1:])
            return
        if frame.startswith(PROVE + b" "):
            self.claims.prove(identity, frame)
            return
        control = parse_control(frame)
        if control is None:
            self.reject(DecodeError("garbage", f"bad control frame {frame[:60]!r}"), identity)
        elif control.kind == "bare_ping":  # from tools: answered on the same connection
            if not self._answer(identity, PONG):
                self._counters.incr("dropped", "pong")
        else:
            self._watch.control(control, sender, identity, key)

    def _dispatch(self, frame: bytes, sender: str, identity: bytes, key: bytes | None) -> None:
        self._counters.incr("received", "frames")
        try:
            items = decode_frame(frame, self._max_frame_bytes)
        except DecodeError as e:
            self.reject(e, identity)
            return
        good: list[Envelope] = []
        for item in items:
            if type(item) is Envelope:
                good.append(item)
            else:
                self.reject(item, identity)  # type: ignore[arg-type]
        if good:
            self.claims.claimed(identity, sender, good, time.monotonic(), len(frame), key)

    def _deliver(self, address: str, sender: str, good: list[Envelope]) -> None:
        if sender:  # before delivery: the exit of a replaced process goes ahead of its successor's news
            self._watch.learn(address, sender)
        self._watch.heard_from(address)
        self._counters.incr("received", "envelopes", len(good))
        if self._on_envelopes is not None:  # one call per frame: the receiver may batch too
            self._on_envelopes(good)  # what it raises is the frame boundary's
            return
        for env in good:
            self._on_envelope(env)

    def reject(self, error: DecodeError, identity: bytes, exc_info: bool = False) -> None:
        """Count a rejected message; log it within the budget of its (reason, connection)."""
        self._counters.incr("rejected", error.reason)
        peer = peer_key(identity)
        verdict = self.log_budget.spend(error.reason, peer)
        if verdict.full:
            log.warning("message_rejected", reason=error.reason, detail=error.detail[:200], peer=peer,
                        address=self._address(), count=verdict.total, exc_info=exc_info)
        elif verdict.summary:
            log.warning("message_rejected", reason=error.reason, peer=peer, address=self._address(),
                        count=verdict.total, logged_every=self.log_budget.every)
        self._on_rejected(error)
