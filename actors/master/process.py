"""The master actor: a thin shell around ``MasterCore`` (decode, call, carry out effects)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pykka

from actors.allocator.process import Allocation, AllocatorProcess, allocator_class
from actors.clock import Timer
from actors.master.config import MasterConfig, load_quota_file, parse_weights
from actors.master.core import MasterCore
from actors.master.leadership import Leadership
from actors.master.model import Abort, Effect, LinkTo, Send, ToAllocator, WriteRegistry
from actors.master.operator_calls import OPERATOR_ATTEMPTS, OperatorCallsMixin, write_atomically
from actors.master.registry_file import FileRegistryStore
from actors.node import Node
from actors.security.visibility import filter_state
from actors.v1_api import is_http_pid
from actors.version import MESOS_VERSION
from transport.messages import MasterState, MasterStateRequest, RequestFailed
from transport.pid import PID
from transport.schema import Message

__all__ = ["OPERATOR_ATTEMPTS", "MasterProcess", "spawn_master", "write_atomically"]


class MasterProcess(OperatorCallsMixin):
    """``MasterProcess.spawn(node, "master", config)``; starts its allocator (``allocator``) too.

    With ``config.zk`` it joins the election and stays a standby until elected
    (see actors/master/leadership.py); ``on_lost_leadership(reason)`` is called
    when its candidacy ends (default: the master stops)."""

    def __init__(self, node: Node, name: str, config: MasterConfig, *, http_port: int | None = None,
                 on_created: Callable[[MasterProcess], None] | None = None,
                 on_elected: Callable[[str], None] | None = None,
                 on_lost_leadership: Callable[[str], None] | None = None) -> None:
        """``http_port``: where its HTTP endpoints are (MasterInfo.address); ``on_created(master)``
        runs on the spawning thread before the actor starts (actors/master/__init__.py routes HTTP so)."""
        super().__init__(node, name)
        self.config = config
        start_time = time.time()  # published times are epoch seconds; the core's ``now`` is the clock's
        self.core = MasterCore(config, str(uuid.uuid4()), str(self.pid), start_time=start_time,
                               version=MESOS_VERSION)
        self.core.epoch_offset = start_time - self.clock.now()
        self.core.http_port = http_port
        self.allocator_ref: pykka.ActorRef[Any] | None = None
        self._allocator: Any = None
        self.allocator_core: Any = None  # read only on the allocator's thread (``on_allocator``)
        self._timer: Timer | None = None
        self._timer_at: float | None = None
        self._pids: dict[str, PID] = {}  # parsed pids of the text ids the core uses
        # Peers served in this process rather than over ZeroMQ (HTTP schedulers' streams):
        # pid text -> what takes the messages the core sends it. Read and written on our thread.
        self.local_peers: dict[str, Callable[[Message], None]] = {}
        self._on_elected_hook = on_elected
        self._on_lost_hook = on_lost_leadership
        self.leadership: Leadership | None = None
        self.registry_store: Any = None  # where a durable registry lives: ZooKeeper or --work_dir
        if on_created is not None:
            on_created(self)

    def initialize(self) -> None:
        cls = allocator_class(self.config.allocator)
        alloc_core = self.allocator_core = cls(weights=parse_weights(self.config.weights))
        if self.config.quota:
            self.core.quotas = load_quota_file(self.config.quota)
            for role, quota in self.core.quotas.items():
                alloc_core.set_quota(role, quota.guarantees, quota.limits)
        self.allocator_ref = AllocatorProcess.spawn(
            self.node, "allocator", alloc_core, self.config.allocation_interval, self._allocated)
        self._allocator = self.allocator_ref.proxy()
        for message_type in MasterCore.message_types:
            self.install(message_type, self._on_message)
        self.install(MasterStateRequest, self._on_state_request)
        self.log.info("master_started", master_id=self.core.master_id, address=self.node.address,
                      allocator=self.config.allocator, agent_ping_timeout=self.config.agent_ping_timeout,
                      max_agent_ping_timeouts=self.config.max_agent_ping_timeouts, zk=self.config.zk or None)
        if self.config.zk:
            self.leadership = Leadership(
                self.config.zk, self.config.zk_session_timeout, master_id=self.core.master_id, pid=str(self.pid),
                hostname=self.config.hostname, run=self.run, on_elected=self._elected, on_lost=self._lost_leadership,
                http_port=self.core.http_port, curve_public_key=self.node.public_key)
            self.registry_store = self.leadership.registry
            try:
                self.leadership.start()
            except Exception as e:  # no ZooKeeper: this master can never lead
                self._lost_leadership(f"cannot join the election at {self.config.zk}: {e}")
        elif self.config.durable_registry:
            self.registry_store = FileRegistryStore(self.config.work_dir)
            self._recover()

    @property
    def leading(self) -> bool:
        return self.leadership is None or self.leadership.leading

    def _recover(self) -> bool:
        """Read the durable registry before handling any message (they wait in the mailbox meanwhile)."""
        try:
            data = self.registry_store.read(timeout=self.config.registry_fetch_timeout)
            effects = self.core.recover(data, self.clock.now())
        except Exception as e:  # unreachable ZooKeeper, a timeout, an unreadable registry: Mesos aborts
            self._lost_leadership(f"cannot recover the registry: {type(e).__name__}: {e}")
            return False
        self._apply(effects)
        return True

    def _elected(self) -> None:
        if not self._recover():
            return
        self.log.info("master_elected", master_id=self.core.master_id, zk=self.config.zk,
                      recovered_agents=len(self.core.recovered))
        if self._on_elected_hook is not None:
            self._on_elected_hook(str(self.pid))

    def _registry_written(self, error: str) -> None:
        self._apply(self.core.registry_written(error, self.clock.now()))

    def _lost_leadership(self, reason: str) -> None:
        self.log.error("master_leadership_lost", master_id=self.core.master_id, reason=reason)
        if self._on_lost_hook is not None:
            self._on_lost_hook(reason)
        else:
            self.stop()

    def finalize(self) -> None:
        if self.leadership is not None:
            try:
                self.leadership.stop()
            except Exception:
                self.log.exception("election_stop_failed")
        if self.allocator_ref is not None:
            try:
                self.allocator_ref.stop(block=False)
            except pykka.ActorDeadError:
                pass
        self.log.info("master_stopped", master_id=self.core.master_id)

    def on_allocator(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the allocator's thread (call from this actor's thread), after the
        allocator calls this actor sent before and before the allocation they schedule."""
        if self._allocator is None:
            raise RuntimeError("the allocator is not started")
        self._allocator.call(fn)

    # --- inputs ---------------------------------------------------------------

    def _on_message(self, sender: PID, msg: Message) -> None:
        if self.leadership is not None and not self.leadership.leading:
            self._standby(sender, msg)
            return
        self._apply(self.core.handle(str(sender), msg, self.clock.now()))

    def _standby(self, sender: PID, msg: Message) -> None:
        assert self.leadership is not None
        redirect = self.leadership.redirect(msg)
        if redirect is None:
            self.counters.incr("dropped", "not_leading")
            self.log.info("message_dropped_not_leading", type=type(msg).__name__, sender=str(sender),
                          leader=self.leadership.leader or None)
            return
        self.log.info("registration_redirected", type=type(msg).__name__, sender=str(sender),
                      leader=redirect.leader or None)
        self.send(sender, redirect)

    def _on_state_request(self, sender: PID, msg: MasterStateRequest) -> MasterState | RequestFailed:
        security = self.core.security
        principal = None
        if security.enabled:  # every peer, our own node's too (LocalCluster's client authenticates)
            principal = security.principal(str(sender))
            if principal is None and self.leadership is not None and not self.leadership.leading:
                return MasterState(state=self.leadership.state())  # a standby: who leads, as ZooKeeper tells
            if principal is None:
                security.refused.refuse(str(sender), "MasterStateRequest", "not_authenticated")
                return RequestFailed(error="the master's state needs an authenticated peer (security is on)")
        state = self.core.state(self.clock.now())
        if principal is not None:
            state = filter_state(security.acls, principal, state)
        if self.leadership is not None:
            state.update(self.leadership.state())
        else:
            state.update(leader=str(self.pid), leading=True)
        return MasterState(state=state)

    def exited(self, pid: PID) -> None:
        if self.leading:
            self._apply(self.core.exited(str(pid), self.clock.now()))

    def change(self, fn: Callable[[MasterCore, float, list[Effect]], None]) -> None:
        """Run ``fn(core, now, out)`` (an operator's change) and carry out its effects (on our thread)."""
        out: list[Effect] = []
        fn(self.core, self.clock.now(), out)
        self._apply(out)

    def handle_local(self, sender: str, msg: Message) -> None:
        """A message from a local peer (``local_peers``), handled as one from the wire (on our thread)."""
        self._apply(self.core.handle(sender, msg, self.clock.now()))

    def local_peer_gone(self, pid: str) -> None:
        """A local peer's connection ended: as a linked process exiting (on our thread)."""
        self.local_peers.pop(pid, None)
        if self.leading:
            self._apply(self.core.exited(pid, self.clock.now()))

    def _allocated(self, allocation: Allocation, now: float) -> None:
        """Called on the allocator's thread: hand the allocation to our own thread."""
        self.run(self._offer, allocation)

    def _offer(self, allocation: Allocation) -> None:
        self._apply(self.core.offer(allocation, self.clock.now()))

    def _tick(self) -> None:
        self._timer = self._timer_at = None
        self._apply(self.core.tick(self.clock.now()))

    # --- effects --------------------------------------------------------------

    def _apply(self, effects: list[Effect]) -> None:
        calls: list[tuple[str, dict[str, Any]]] = []
        for effect in effects:
            if isinstance(effect, Send):
                local = self.local_peers.get(effect.to)
                if local is None and is_http_pid(effect.to):
                    continue  # its stream has ended: nobody to tell
                try:
                    if local is not None:
                        local(effect.message)
                    else:
                        self.send(self._pid(effect.to), effect.message)
                except Exception:
                    self.log.exception("send_failed", to=effect.to, type=type(effect.message).__name__)
            elif isinstance(effect, LinkTo):
                if not is_http_pid(effect.pid):  # a stream's end is its exit (local_peer_gone)
                    self.link(self._pid(effect.pid))
            elif isinstance(effect, ToAllocator):
                calls.append((effect.method, effect.kwargs))
            elif isinstance(effect, WriteRegistry):
                self.registry_store.write(effect.data, lambda error: self.run(self._registry_written, error))
            elif isinstance(effect, Abort):
                self._lost_leadership(effect.reason)
        if calls and self._allocator is not None:
            self._allocator.apply(calls)
        self._reschedule()

    def _pid(self, text: str) -> PID:
        pid = self._pids.get(text)
        if pid is None:
            pid = PID.parse(text)
            if len(self._pids) >= 200_000:
                self._pids.clear()
            self._pids[text] = pid
        return pid

    def _reschedule(self) -> None:
        deadline = self.core.next_deadline()
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.delay(max(0.0, deadline - self.clock.now()), self._tick)


def spawn_master(node: Node, config: MasterConfig, **hooks: Callable[[str], None]) -> pykka.ActorRef[Any]:
    """Validate ``config`` and start the master (``master``) and its allocator on the started ``node``
    (with HTTP endpoints: ``actors.master.spawn_master``).

    ``hooks``: ``on_elected(pid)`` and ``on_lost_leadership(reason)`` (see MasterProcess)."""
    config.validate()
    return MasterProcess.spawn(node, "master", config, **hooks)
