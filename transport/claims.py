"""The endpoint's half of binding senders to connections (the protocol: ``transport.senders``).

``Claims`` runs on the endpoint's I/O thread. It holds the proofs and the
routing ids of the endpoint's own DEALERs, and is given how to send a control
frame, deliver envelopes and reject a frame; it holds no socket.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import structlog

from transport.codec import Envelope
from transport.counters import Counters
from transport.errors import DecodeError, PIDError
from transport.liveness import split_message
from transport.logbudget import LogBudget, peer_key
from transport.pid import parse_address
from transport.senders import PROVE, PROVEN, Proofs

__all__ = ["Claims", "same_address"]

log = structlog.get_logger("transport.endpoint")

# (address, frame, only a pong, the CURVE server key to reach it with: b"" the one known) -> sent
SendControl = Callable[[str, bytes, bool, bytes], bool]
Deliver = Callable[[str, str, list[Envelope]], None]  # (proven address, sender incarnation, envelopes)
Reject = Callable[[DecodeError, bytes, bool], None]  # (error, routing id, log the traceback)


def same_address(a: str, b: str) -> bool:
    """Whether ``host:port`` texts ``a`` and ``b`` name one endpoint (``localhost:5050`` is
    ``127.0.0.1:5050``); resolved only when the texts differ."""
    if a == b:
        return True
    (host_a, port_a), (host_b, port_b) = parse_address(a), parse_address(b)
    if port_a != port_b:
        return False
    try:
        return bool(_ips(host_a) & _ips(host_b))
    except OSError:
        return False


def _ips(host: str) -> set[str]:
    return {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}


class Claims:
    def __init__(self, proofs: Proofs[Envelope], own_address: Callable[[], str], *,
                 bound_address: Callable[[], str] = lambda: "", counters: Counters,
                 log_budget: LogBudget, send_control: SendControl, deliver: Deliver, reject: Reject,
                 on_proven: Callable[[str, bytes], None] = lambda address, key: None,
                 read_news: Callable[[str], None] = lambda address: None) -> None:
        self.proofs = proofs
        self._own_address = own_address
        self._bound_address = bound_address  # where we are bound, if peers may reach us there too
        self._counters = counters
        self._log_budget = log_budget
        self._send_control = send_control
        self._deliver = deliver
        self._reject = reject
        self._on_proven = on_proven  # (address, the CURVE key it proved to hold)
        # Applies the unread news of our connection to an address (``PeerWatch.read_news``): a
        # challenge must not go out on a connection that news already received will close.
        self._read_news = read_news
        # routing id of each open DEALER of ours -> (its peer address, the peer's CURVE key or b"")
        self.owners: dict[bytes, tuple[str, bytes]] = {}

    def claimed(self, identity: bytes, sender: str, envs: list[Envelope], now: float, size: int = 0,
                key: bytes | None = None) -> None:
        """Deliver what ``identity`` sent for the address it is proven to speak for; hold the rest
        behind a challenge to the claimed address, or drop it as spoofed.

        With CURVE, ``key`` is the client key the connection authenticated with: the challenge
        goes to the claimed address over a connection to a server holding that key, so only
        the process at that address with that key's secret can answer it."""
        proofs = self.proofs
        challenge = proofs.pending(identity)
        if challenge is not None and key is not None and challenge.key != key:
            self.spoofed(challenge.address, len(envs), "spoofed", identity)
            return
        proven = proofs.speaks_for(identity, key) if challenge is None else None
        address = proven or (challenge.address if challenge is not None else envs[0].sender.address)
        host, _, port_text = address.rpartition(":")
        port = int(port_text)
        ok = [e for e in envs if e.sender.port == port and e.sender.host == host]
        if len(ok) < len(envs):  # a connection speaks for one address
            claimed = next(e for e in envs if e.sender.port != port or e.sender.host != host).sender.address
            self.spoofed(claimed, len(envs) - len(ok), "spoofed", identity)
        if not ok:
            return
        if proven is not None:
            self._deliver(address, sender, ok)
            return
        own = self._own_address()
        if address == own:  # nothing of ours comes over the wire from ourselves
            self.spoofed(address, len(ok), "spoofed", identity)
            return
        challenge, new = proofs.challenge(identity, address, now, key or b"")
        if challenge is None:
            self.spoofed(address, len(ok), "unproven", identity)
            return
        left = proofs.hold(challenge, ok, size)
        if left:
            self.spoofed(address, len(left), "unproven", identity)
        if new:  # the predecessor's death, read late, would drop the DEALER carrying the challenge
            self._read_news(address)
            frame = b"%s %s %s %s" % (PROVE, own.encode(), challenge.token, identity.hex().encode())
            bound = self._bound_address()
            if bound and bound != own:  # the asked may know us by that name (a wildcard bind, say)
                frame += b" " + bound.encode()
            if not self._send_control(address, frame, True, key or b""):
                self._counters.incr("dropped", "prove")

    def prove(self, identity: bytes, frame: bytes) -> None:
        """``\\x00prove <reply address> <token> <routing id> [<bound address>]``: vouch for the routing
        id if it is one of our connections to the asker, known by either address (it asks at our
        address, so it reaches only us)."""
        words = frame.split(b" ")
        try:
            reply, token, rid = words[1].decode("ascii"), words[2], bytes.fromhex(words[3].decode("ascii"))
            names = [reply] + [w.decode("ascii") for w in words[4:5]]
            for name in names:
                parse_address(name)
        except (IndexError, ValueError, PIDError):
            self._reject(DecodeError("garbage", f"bad prove frame {frame[:60]!r}"), identity, False)
            return
        owner, key = self.owners.get(rid, ("", b""))
        if not owner or not any(same_address(owner, name) for name in names):
            self._counters.incr("dropped", "not_our_connection")
            return
        if not self._send_control(reply, b"%s %s" % (PROVEN, token), True, key):
            self._counters.incr("dropped", "prove")

    def proven(self, token: bytes) -> None:
        """A challenge answered: its connection speaks for its address; deliver what it held."""
        done = self.proofs.proven(token)
        if done is None:
            self._counters.incr("dropped", "unknown_proof")
            return
        identity, challenge = done
        sender, _, _ = split_message(identity, [])
        self._counters.incr("proven", "connections")
        self._on_proven(challenge.address, challenge.key)
        for frame in challenge.held:  # each frame on its own, as if it came now
            try:
                self._deliver(challenge.address, sender, frame)
            except Exception as e:
                self._reject(DecodeError("internal_error", f"{type(e).__name__}: {str(e)[:200]}"), identity, True)

    def expire(self, now: float) -> None:
        """Drop what unanswered challenges held."""
        for challenge in self.proofs.expired(now):
            self.spoofed(challenge.address, challenge.count, "unproven")

    def spoofed(self, address: str, n: int, reason: str, identity: bytes = b"") -> None:
        self._counters.incr("dropped", reason, n)
        peer = peer_key(identity) if identity else address
        verdict = self._log_budget.spend(reason, peer)
        if verdict.full or verdict.summary:
            log.warning("message_dropped", reason=reason, claimed=address[:100], peer=peer, count=n,
                        total=verdict.total)
