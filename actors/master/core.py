"""The master's pure core: bookkeeping driven by messages and ``now``, returning effects.

``MasterCore.handle(sender, message, now)`` dispatches one wire message from
the process ``sender`` (text pid) and returns the effects (``Send``,
``LinkTo``, ``ToAllocator``) for the actor shell to carry out. Time-driven
work (agent pings, failover timeouts, offer timeouts) runs in ``tick(now)``;
``next_deadline()`` says when that is next due. Allocations from the
allocator come in through ``offer(allocation, now)``. No I/O, no clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import structlog

from actors.master import agents, drain, frameworks, offers, recovery, tasks, unreachable
from actors.master.ledger import MasterLedger
from actors.master.model import Effect
from actors.master.state_json import build_state
from transport import messages as m
from transport.schema import Message

__all__ = ["MasterCore"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
Handler = Callable[[MasterLedger, str, Any, float, list[Effect]], None]

_HANDLERS: dict[type[Message], Handler] = {
    m.RegisterFramework: frameworks.register,
    m.ReregisterFramework: frameworks.reregister,
    m.UnregisterFramework: frameworks.unregister,
    m.DeactivateFramework: frameworks.deactivate_message,
    m.AcceptOffers: offers.accept,
    m.DeclineOffers: offers.decline,
    m.ReviveOffers: offers.revive,
    m.SuppressOffers: offers.suppress,
    m.ResourceRequest: offers.request_resources,
    m.KillTask: tasks.kill,
    m.ReconcileTasks: tasks.reconcile,
    m.StatusUpdateAcknowledgement: tasks.acknowledge,
    m.FrameworkToExecutor: tasks.framework_to_executor,
    m.ShutdownExecutor: tasks.shutdown_executor,
    m.RegisterAgent: agents.register,
    m.ReregisterAgent: drain.reregister,
    m.UnregisterAgent: agents.unregister,
    m.PongAgent: agents.pong,
    m.StatusUpdate: drain.status_update,
    m.ExecutorToFramework: tasks.executor_to_framework,
    m.ExitedExecutor: tasks.exited_executor,
    m.Authenticate: lambda core, sender, msg, now, out: core.security.authenticate(sender, msg, now, out),
    m.AuthenticationResponse: lambda core, sender, msg, now, out: core.security.respond(sender, msg, now, out),
}


class MasterCore(MasterLedger):
    """The master's state machine: its ledger plus the dispatch of messages and time over it."""

    message_types = tuple(_HANDLERS)

    # --- entry points ---------------------------------------------------------

    def handle(self, sender: str, msg: Message, now: float) -> list[Effect]:
        out: list[Effect] = []
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            log.warning("master_message_unhandled", type=type(msg).__name__, sender=sender)
            return out
        if self.entitlements.allows(sender, msg) and self.security.admit(sender, msg, out) \
                and self.admission.admit(sender, msg, now, out):
            handler(self, sender, msg, now, out)
        return out

    def exited(self, pid: str, now: float) -> list[Effect]:
        """A linked process (framework driver or agent) is gone."""
        out: list[Effect] = []
        self.security.forget(pid)
        fid = self.framework_pids.get(pid)
        if fid is not None and fid in self.frameworks:
            frameworks.disconnect(self, self.frameworks[fid], now, out)
        aid = self.agent_pids.get(pid)
        if aid is not None and aid in self.agents:
            agents.disconnect(self, self.agents[aid], now, out)
        return out

    def offer(self, allocation: dict[str, dict[str, Any]], now: float) -> list[Effect]:
        """Turn an allocation (framework_id -> agent_id -> role -> resources, or a bare
        Resources per agent) into offers, one per agent and role."""
        out: list[Effect] = []
        offers.make_offers(self, allocation, now, out)
        return out

    def tick(self, now: float) -> list[Effect]:
        """Run what is due: failover timeouts, agent pings (marking agents unreachable), forgetting
        long-unreachable agents, offer timeouts."""
        out: list[Effect] = []
        self.security.authenticator.expire(now)
        due: dict[str, dict[str, None]] = {"failover": {}, "ping": {}, "offer": {}, "recovered": {}}
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, kind, key = heapq.heappop(self._deadlines)
            due[kind][key] = None
        for fid in due["failover"]:
            fw = self.frameworks.get(fid)
            if fw is not None and fw.failover_deadline is not None and fw.failover_deadline <= now:
                log.info("framework_failover_timeout", framework_id=fw.framework_id)
                frameworks.remove(self, fw, now, out)
        for aid in due["ping"]:
            agent = self.agents.get(aid)
            if agent is not None and agent.next_ping <= now:
                agents.ping(self, agent, now, out)
        unreachable.collect_garbage(self, now, out)
        for oid in due["offer"]:
            offer = self.offers.get(oid)
            if offer is not None and offer.expires is not None and offer.expires <= now:
                log.info("offer_timeout", offer_id=offer.offer_id, framework_id=offer.framework_id)
                self.remove_offer(offer, out, rescind=True, recover=True, now=now)
        if due["recovered"] and self.recovered_deadline is not None and self.recovered_deadline <= now:
            recovery.reregister_timeout(self, now, out)
        return out

    def recover(self, registry: bytes | None, now: float) -> list[Effect]:
        """Elected: take over the stored registry (None: none yet); RegistryError if unreadable."""
        return recovery.recover(self, registry, now)

    def registry_written(self, error: str, now: float) -> list[Effect]:
        """The shell stored the registry of the last ``WriteRegistry`` (``error`` "" if it did)."""
        out: list[Effect] = []
        self.registrar.written(error, out)
        return out

    def next_deadline(self) -> float | None:
        heap = self._deadlines
        while heap and self._deadline_of(heap[0][2], heap[0][3]) != heap[0][0]:
            heapq.heappop(heap)  # stale: the record is gone or its deadline moved
        due = [t for t in (heap[0][0] if heap else None, unreachable.next_expiry(self)) if t is not None]
        return min(due) if due else None

    def _deadline_of(self, kind: str, key: str) -> float | None:
        if kind == "ping":
            agent = self.agents.get(key)
            return agent.next_ping if agent is not None else None
        if kind == "recovered":
            return self.recovered_deadline if self.recovered else None
        if kind == "failover":
            fw = self.frameworks.get(key)
            return fw.failover_deadline if fw is not None else None
        offer = self.offers.get(key)
        return offer.expires if offer is not None else None

    def state(self, now: float) -> Dict:
        """The /master/state dict."""
        return build_state(self, now)
