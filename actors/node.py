"""A node: the runtime of one OS process (or one test cluster) around one endpoint.

It names processes ``name@host:port``, delivers envelopes to local processes
without the socket (or through the codec when ``force_encoding`` is set),
hands others to the endpoint, and keeps the link table: who must be told when
a process exits, locally or across nodes (heartbeats find dead nodes).
"""

from __future__ import annotations

import threading
from typing import Any

import pykka
import structlog

from actors.clock import Clock, RealClock
from actors.errors import NameTaken
from actors.filters import _filters, apply_filters
from actors.mailbox import DEFAULT_MAILBOX_LIMIT, REFUSABLE, Addressee, Mailbag, PeerExitedNotice, try_turn
from transport.codec import DEFAULT_MAX_FRAME_BYTES, Envelope, decode_frame, encode_envelope, join_frame
from transport.counters import Counters
from transport.curve import CurveKeys
from transport.endpoint import Endpoint, generate_key_pair
from transport.errors import DecodeError, PIDError
from transport.logbudget import LogBudget
from transport.messages import Exited, Link, RequestFailed
from transport.pid import PID
from transport.schema import Message

__all__ = ["Node", "default_node"]

log = structlog.get_logger(__name__)


class Node:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        force_encoding: bool = False,
        heartbeat_interval: float = 0.5,
        heartbeat_timeout: float = 75.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        batch: bool = True,
        advertise_host: str | None = None,
        advertise_port: int | None = None,
        mailbox_limit: int = DEFAULT_MAILBOX_LIMIT,
        curve: CurveKeys | None = None,
    ) -> None:
        if mailbox_limit < 1:
            raise ValueError(f"mailbox_limit must be >= 1, got {mailbox_limit}")
        self.mailbox_limit = mailbox_limit
        self._refusals = LogBudget()
        self.clock = clock or RealClock()
        self.force_encoding = force_encoding
        self.max_frame_bytes = max_frame_bytes
        self.counters = Counters()
        self.endpoint = Endpoint(
            host,
            port,
            on_envelope=self._from_wire,
            on_envelopes=self._from_wire_many,
            on_peer_lost=self._peer_lost,
            max_frame_bytes=max_frame_bytes,
            heartbeat_interval=heartbeat_interval,
            heartbeat_timeout=heartbeat_timeout,
            batch=batch,
            advertise_host=advertise_host,
            advertise_port=advertise_port,
            curve=curve,
        )
        self._processes: dict[str, Addressee] = {}
        self._links: dict[PID, set[PID]] = {}
        self._lock = threading.RLock()
        self._started = False

    # --- life cycle -------------------------------------------------------

    def start(self) -> Node:
        if not self._started:
            self.endpoint.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Stop every process of this node, then the endpoint."""
        with self._lock:
            refs = [p.actor_ref for p in self._processes.values()]
        for ref in refs:
            try:
                ref.stop(timeout=5)
            except (pykka.ActorDeadError, pykka.Timeout):
                pass
        self.endpoint.stop()

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """The advertised host of this node's pids (not ``0.0.0.0`` when bound to every interface)."""
        return self.endpoint.advertised_host

    @property
    def port(self) -> int:
        """The advertised port of this node's pids."""
        return self.endpoint.advertised_port

    @property
    def address(self) -> str:
        return self.endpoint.address

    @property
    def public_key(self) -> bytes:
        """This node's CURVE public key (Z85), b"" when its links are not encrypted."""
        return self.endpoint.curve.public if self.endpoint.curve is not None else b""

    def pin(self, address: str, public_key: bytes) -> None:
        """Send to ``address`` only over CURVE to a server holding ``public_key`` (Z85)."""
        self.endpoint.pin(address, public_key)

    def pid(self, name: str) -> PID:
        return PID(name, self.host, self.port)

    def is_local(self, pid: PID) -> bool:
        return pid.port == self.port and pid.host == self.host

    # --- registry -----------------------------------------------------------

    def register(self, name: str, process: Addressee) -> PID:
        if not self._started:
            raise RuntimeError(f"node {self.address} is not started")
        with self._lock:
            if name in self._processes:
                raise NameTaken(f"a process named {name!r} already runs on {self.address}")
            self._processes[name] = process
        return self.pid(name)

    def unregister(self, pid: PID) -> None:
        """Forget a stopped process and tell everyone linked to it."""
        with self._lock:
            self._processes.pop(pid.name, None)
            linkers = self._links.pop(pid, set())
        for linker in linkers:
            self._notify_exit(linker, pid)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._processes)

    def lookup(self, name: str) -> pykka.ActorRef[Any] | None:
        process = self._processes.get(name)
        return None if process is None else process.actor_ref

    # --- delivery -------------------------------------------------------------

    def route(self, sender: PID, receiver: PID, msg: Message, correlation: int = 0) -> None:
        """Deliver locally, or queue for the receiver's node."""
        if self.is_local(receiver):
            if not self.force_encoding:
                self.deliver(Envelope(sender, receiver, msg, correlation))
                return
            frame = join_frame([encode_envelope(sender, receiver, msg, correlation)])
            for item in decode_frame(frame, self.max_frame_bytes):
                if isinstance(item, DecodeError):
                    self.counters.incr("rejected", item.reason)
                    log.error("local_message_rejected", error=str(item))
                else:
                    self._from_wire(item)
            return
        self.endpoint.send(receiver.address, encode_envelope(sender, receiver, msg, correlation))

    def deliver(self, env: Envelope) -> None:
        """Hand an envelope to a local process, after the test filters."""
        if apply_filters(env):
            self.counters.incr("dropped", "filtered")
            log.debug("message_filtered", type=type(env.message).__name__, to=str(env.receiver))
            return
        self._post(env.receiver.name, [env])

    def _post(self, name: str, envs: list[Envelope], wire: bool = False) -> None:
        """Join the bag at the tail of the process's mailbox, or tell it a new bag.

        A lone response for a process that has handled everything posted to it
        before completes its future here, on this thread: nothing sent earlier
        can be overtaken, and the waiter is spared a hop through the mailbox. So
        are ``wire`` envelopes all for inline handlers, handled here in the turn.
        """
        if not envs:
            return
        process = self._processes.get(name)
        if process is not None and not process.actor_stopped.is_set():
            inbox: Any = process.actor_inbox  # a queue.Queue of pykka envelopes (ThreadingActor)
            inline = False
            with inbox.mutex:  # the actor pops under this lock: a bag still queued is not being read
                last = getattr(inbox.queue[-1], "message", None) if inbox.queue else None
                if type(last) is Mailbag:
                    last.extend(envs)
                    process.posted += len(envs)
                    return
                idle = process.posted == process.handled
                direct = idle and len(envs) == 1 and envs[0].correlation < 0
                if not direct:
                    # Idle, nothing queued, the turn free (the actor's thread waits for an item):
                    # nothing sent earlier is ahead, and nothing of the process runs meanwhile.
                    inline = (wire and idle and not inbox.queue and process.takes_inline(envs)
                              and try_turn(inbox))
                    process.posted += len(envs)
            if direct:
                process.complete(envs[0])
                return
            if inline:
                if not process.actor_stopped.is_set():  # stopped while we took the turn: no more handling
                    process.handle_inline(envs)
                    return
                inbox.turn.release()
            try:
                process.actor_ref.tell(Mailbag(envs))
                return
            except pykka.ActorDeadError:
                pass
        for env in envs:
            self._undeliverable(env)

    def _undeliverable(self, env: Envelope) -> None:
        type_name = type(env.message).__name__
        self.counters.incr("dropped", "unknown_process")
        log.info("message_dropped", reason="unknown_process", to=str(env.receiver), type=type_name)
        if env.correlation > 0:
            self.route(
                env.receiver,
                env.sender,
                RequestFailed(error=f"no process {env.receiver} to answer {type_name}"),
                -env.correlation,
            )

    def _from_wire_many(self, envs: list[Envelope]) -> None:
        """One frame's envelopes: each run for one process is posted at once. An envelope from the
        wire claiming one of our own pids is forged (ours never cross the wire): dropped, counted."""
        run: list[Envelope] = []
        name = ""
        host, port = self.host, self.port
        for env in envs:
            if env.sender.port == port and env.sender.host == host:
                self.counters.incr("dropped", "spoofed_local_sender")
                continue
            kind = type(env.message)
            if kind is Link or kind is Exited or (_filters and apply_filters(env)):
                if run:
                    self._post(name, run, wire=True)
                run = []
                if kind is Link or kind is Exited:
                    self._from_wire(env)
                else:
                    self.counters.incr("dropped", "filtered")
                continue
            if env.receiver.name != name:
                if run:
                    self._post(name, self._admitted(name, run), wire=True)
                run = []
                name = env.receiver.name
            run.append(env)
        if run:
            self._post(name, self._admitted(name, run), wire=True)

    def _from_wire(self, env: Envelope) -> None:
        msg = env.message
        if type(msg) is Link:
            self._remote_link(env.sender, env.receiver)
        elif type(msg) is Exited:
            try:
                exited = PID.parse(msg.pid)
            except PIDError as e:
                self.counters.incr("rejected", "bad_fields")
                log.warning("message_rejected", reason="bad_fields", detail=str(e))
                return
            if exited.address != env.sender.address:  # a node tells only of its own processes
                self.counters.incr("dropped", "spoofed_exited")
                return
            self._remote_exited(exited, env.receiver)
        elif self._admitted(env.receiver.name, [env]):
            self.deliver(env)

    def _admitted(self, name: str, envs: list[Envelope]) -> list[Envelope]:
        """What a full mailbox takes from the wire: all but the REFUSABLE types (actors.mailbox)."""
        process = self._processes.get(name)
        if process is None:
            return envs
        room = self.mailbox_limit - (process.posted - process.handled)
        if room >= len(envs):
            return envs
        kept: list[Envelope] = []
        for env in envs:  # a frame of many envelopes fills the room, then refuses
            if env.correlation < 0 or type(env.message).__name__ not in REFUSABLE:
                kept.append(env)
            elif len(kept) < room:
                kept.append(env)
            else:
                self._refuse(env)
        return kept

    def _refuse(self, env: Envelope) -> None:
        type_name = type(env.message).__name__
        self.counters.incr("refused", type_name)
        verdict = self._refusals.spend(type_name, env.sender.address)
        if verdict.full or verdict.summary:
            log.warning("message_refused", reason="mailbox_full", type=type_name, to=str(env.receiver),
                        sender=str(env.sender)[:200], limit=self.mailbox_limit, count=verdict.total)
        if env.correlation > 0:
            self.route(env.receiver, env.sender, RequestFailed(error=f"{env.receiver} is busy: {type_name} refused"),
                       -env.correlation)

    # --- links ------------------------------------------------------------

    def link(self, linker: PID, target: PID) -> None:
        """Arrange for ``linker`` to be told (once) when ``target`` exits."""
        if self.is_local(target):
            with self._lock:
                alive = target.name in self._processes
                if alive:
                    self._links.setdefault(target, set()).add(linker)
            if not alive:
                self._notify_exit(linker, target)
            return
        with self._lock:
            linkers = self._links.setdefault(target, set())
            first = not linkers
            linkers.add(linker)
        if first:
            self.endpoint.watch(target.address)
            self.route(linker, target, Link())

    def linkers(self, target: PID) -> set[PID]:
        """The processes to be told when ``target`` exits (a copy)."""
        with self._lock:
            return set(self._links.get(target, ()))

    def _remote_exited(self, target: PID, linker: PID) -> None:
        """A remote node says ``target`` is gone: tell every local linker, once. Gone, it is
        nobody's linker any more either (an executor linked to its agent, say)."""
        with self._lock:
            linkers = self._links.pop(target, None)
            for others in self._links.values():
                others.discard(target)
        if linkers is not None:
            self.endpoint.unwatch(target.address)
        for each in (linkers or set()) | {linker}:
            self._notify_exit(each, target)

    def _remote_link(self, linker: PID, target: PID) -> None:
        with self._lock:
            alive = target.name in self._processes
            if alive:
                self._links.setdefault(target, set()).add(linker)
        if not alive:
            self.route(target, linker, Exited(pid=str(target)))

    def _notify_exit(self, linker: PID, target: PID) -> None:
        if self.is_local(linker):
            process = self._processes.get(linker.name)
            if process is not None:
                try:
                    process.actor_ref.tell(PeerExitedNotice(target))
                except pykka.ActorDeadError:
                    pass
        else:
            self.route(target, linker, Exited(pid=str(target)))

    def _peer_lost(self, address: str) -> None:
        with self._lock:
            lost = [t for t in self._links if t.address == address]
            notices = [(linker, t) for t in lost for linker in self._links.pop(t)]
            for linkers in self._links.values():  # forget remote linkers on the dead node
                for linker in [p for p in linkers if p.address == address]:
                    linkers.discard(linker)
        for linker, target in notices:
            self._notify_exit(linker, target)


_defaults: dict[bool, Node] = {}
_default_lock = threading.Lock()


def default_node(encrypted: bool = False) -> Node:
    """This OS process's shared node on 127.0.0.1 and a free port, started on first use;
    ``encrypted``: the shared node whose links are CURVE-encrypted (an ephemeral key pair)."""
    with _default_lock:
        node = _defaults.get(encrypted)
        if node is None:
            node = _defaults[encrypted] = Node(curve=generate_key_pair() if encrypted else None).start()
        return node
