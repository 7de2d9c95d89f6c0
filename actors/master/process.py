"""The master actor: a thin shell around ``MasterCore`` (decode, call, carry out effects)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pykka

from actors.allocator.process import Allocation, AllocatorProcess, allocator_class
from actors.clock import Timer
from actors.master.config import MasterConfig, parse_weights
from actors.master.core import MasterCore
from actors.master.model import Effect, LinkTo, Send, ToAllocator
from actors.node import Node
from actors.process import Process
from actors.version import MESOS_VERSION
from transport.messages import MasterState, MasterStateRequest
from transport.pid import PID
from transport.schema import Message

__all__ = ["MasterProcess", "spawn_master"]


class MasterProcess(Process):
    """``MasterProcess.spawn(node, "master", config)``; starts its allocator (``allocator``) too."""

    def __init__(self, node: Node, name: str, config: MasterConfig, *, http_port: int | None = None,
                 on_created: Callable[[MasterProcess], None] | None = None) -> None:
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
        if on_created is not None:
            on_created(self)

    def initialize(self) -> None:
        cls = allocator_class(self.config.allocator)
        alloc_core = self.allocator_core = cls(weights=parse_weights(self.config.weights))
        self.allocator_ref = AllocatorProcess.spawn(
            self.node, "allocator", alloc_core, self.config.allocation_interval, self._allocated)
        self._allocator = self.allocator_ref.proxy()
        for message_type in MasterCore.message_types:
            self.install(message_type, self._on_message)
        self.install(MasterStateRequest, self._on_state_request)
        self.log.info("master_started", master_id=self.core.master_id, address=self.node.address,
                      allocator=self.config.allocator, agent_ping_timeout=self.config.agent_ping_timeout,
                      max_agent_ping_timeouts=self.config.max_agent_ping_timeouts)

    def finalize(self) -> None:
        if self.allocator_ref is not None:
            try:
                self.allocator_ref.stop(block=False)
            except pykka.ActorDeadError:
                pass
        self.log.info("master_stopped", master_id=self.core.master_id)

    def on_allocator(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the allocator's thread (call from this actor's thread)."""
        if self._allocator is None:
            raise RuntimeError("the allocator is not started")
        self._allocator.run(fn)

    # --- inputs ---------------------------------------------------------------

    def _on_message(self, sender: PID, msg: Message) -> None:
        self._apply(self.core.handle(str(sender), msg, self.clock.now()))

    def _on_state_request(self, sender: PID, msg: MasterStateRequest) -> MasterState:
        return MasterState(state=self.core.state(self.clock.now()))

    def exited(self, pid: PID) -> None:
        self._apply(self.core.exited(str(pid), self.clock.now()))

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
                try:
                    self.send(self._pid(effect.to), effect.message)
                except Exception:
                    self.log.exception("send_failed", to=effect.to, type=type(effect.message).__name__)
            elif isinstance(effect, LinkTo):
                self.link(self._pid(effect.pid))
            elif isinstance(effect, ToAllocator):
                calls.append((effect.method, effect.kwargs))
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


def spawn_master(node: Node, config: MasterConfig) -> pykka.ActorRef[Any]:
    """Validate ``config`` and start the master (``master``) and its allocator on the started ``node``
    (with HTTP endpoints: ``actors.master.spawn_master``)."""
    config.validate()
    return MasterProcess.spawn(node, "master", config)
