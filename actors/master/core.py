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
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog

from actors.master import agents, frameworks, offers, tasks
from actors.master.admission import Admission
from actors.master.config import MasterConfig, parse_roles
from actors.master.entitlements import master_entitlements
from actors.master.framework_ids import FrameworkIds
from actors.master.model import (
    TERMINAL_STATES,
    Agent,
    Effect,
    Framework,
    Offer,
    Send,
    Task,
    ToAllocator,
)
from actors.master.state_json import build_state
from actors.resources import Resources
from actors.version import MESOS_VERSION
from transport import messages as m
from transport.schema import Message

__all__ = ["MasterCore"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
Handler = Callable[["MasterCore", str, Any, float, list[Effect]], None]

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
    m.RegisterAgent: agents.register,
    m.ReregisterAgent: agents.reregister,
    m.UnregisterAgent: agents.unregister,
    m.PongAgent: agents.pong,
    m.StatusUpdate: tasks.status_update,
    m.ExecutorToFramework: tasks.executor_to_framework,
    m.ExitedExecutor: tasks.exited_executor,
}


class MasterCore:
    """The master's state machine. ``master_id`` is a uuid text; ``pid`` the master's pid text."""

    message_types = tuple(_HANDLERS)

    def __init__(self, config: MasterConfig, master_id: str, pid: str, *, version: str = MESOS_VERSION,
                 start_time: float = 0.0) -> None:
        self.config = config
        self.master_id = master_id
        self.pid = pid
        self.version = version
        self.start_time = start_time
        self.epoch_offset = 0.0  # epoch seconds minus ``now``: every published time is ``now + epoch_offset``
        self.allowed_roles = parse_roles(config.roles)
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(maxlen=config.max_completed_frameworks)
        self.removed_frameworks = FrameworkIds(master_id, self.frameworks)
        self.framework_pids: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        self.removed_agents: set[str] = set()
        self.agent_pids: dict[str, str] = {}
        self.offers: dict[str, Offer] = {}
        self._next_agent = 0
        self._next_offer = 0
        # (when, seq, kind, key): an index of the records' deadlines, invalidated lazily (the
        # record's own field is the truth), so that next_deadline and tick are not O(agents).
        self._deadlines: list[tuple[float, int, str, str]] = []
        self._deadline_seq = itertools.count()
        self.entitlements = master_entitlements(self.frameworks, self.agents, self.agent_pids)  # who may send what
        self.admission = Admission(config.rate_limits, config.max_frameworks_per_peer, self.frameworks,
                                   self.framework_pids)  # framework registrations: rate limits, per-peer cap

    # --- entry points ---------------------------------------------------------

    def handle(self, sender: str, msg: Message, now: float) -> list[Effect]:
        out: list[Effect] = []
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            log.warning("master_message_unhandled", type=type(msg).__name__, sender=sender)
            return out
        if self.entitlements.allows(sender, msg) and self.admission.admit(sender, msg, now, out):
            handler(self, sender, msg, now, out)
        return out

    def exited(self, pid: str, now: float) -> list[Effect]:
        """A linked process (framework driver or agent) is gone."""
        out: list[Effect] = []
        fid = self.framework_pids.get(pid)
        if fid is not None and fid in self.frameworks:
            frameworks.disconnect(self, self.frameworks[fid], now, out)
        aid = self.agent_pids.get(pid)
        if aid is not None and aid in self.agents:
            agents.disconnect(self, self.agents[aid], now, out)
        return out

    def offer(self, allocation: dict[str, dict[str, Resources]], now: float) -> list[Effect]:
        """Turn an allocation (framework_id -> agent_id -> resources) into offers."""
        out: list[Effect] = []
        offers.make_offers(self, allocation, now, out)
        return out

    def tick(self, now: float) -> list[Effect]:
        """Run what is due: failover timeouts, agent pings and removals, offer timeouts."""
        out: list[Effect] = []
        due: dict[str, dict[str, None]] = {"failover": {}, "ping": {}, "offer": {}}
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
        for oid in due["offer"]:
            offer = self.offers.get(oid)
            if offer is not None and offer.expires is not None and offer.expires <= now:
                log.info("offer_timeout", offer_id=offer.offer_id, framework_id=offer.framework_id)
                self.remove_offer(offer, out, rescind=True, recover=True, now=now)
        return out

    def next_deadline(self) -> float | None:
        heap = self._deadlines
        while heap and self._deadline_of(heap[0][2], heap[0][3]) != heap[0][0]:
            heapq.heappop(heap)  # stale: the record is gone or its deadline moved
        return heap[0][0] if heap else None

    def schedule(self, kind: str, key: str, when: float) -> None:
        """Index a record's new deadline: ``kind`` "ping" (agent id), "failover" (framework id) or "offer"."""
        heapq.heappush(self._deadlines, (when, next(self._deadline_seq), kind, key))

    def _deadline_of(self, kind: str, key: str) -> float | None:
        if kind == "ping":
            agent = self.agents.get(key)
            return agent.next_ping if agent is not None else None
        if kind == "failover":
            fw = self.frameworks.get(key)
            return fw.failover_deadline if fw is not None else None
        offer = self.offers.get(key)
        return offer.expires if offer is not None else None

    def state(self, now: float) -> Dict:
        """The /master/state dict."""
        return build_state(self, now)

    # --- shared helpers ---------------------------------------------------------

    def master_info(self) -> Dict:
        host, _, port = self.pid.rpartition("@")[2].rpartition(":")
        hostname = self.config.hostname or host
        return {
            "id": self.master_id, "pid": self.pid, "ip": host, "port": int(port or 0),
            "hostname": hostname, "version": self.version,
            "address": {"ip": host, "hostname": hostname, "port": int(port or 0)},
        }

    def new_framework_id(self) -> str:
        return self.removed_frameworks.new()

    def new_agent_id(self) -> str:
        while True:
            aid = f"{self.master_id}-S{self._next_agent}"
            self._next_agent += 1
            if aid not in self.agents and aid not in self.removed_agents:
                return aid

    def new_offer_id(self) -> str:
        oid = f"{self.master_id}-O{self._next_offer}"
        self._next_offer += 1
        return oid

    def framework_from(self, sender: str, framework_id: str, out: list[Effect]) -> Framework | None:
        """The framework ``framework_id`` (its scheduler is ``sender``: see entitlements); FrameworkError if removed."""
        fw = self.frameworks.get(framework_id)
        if fw is None:
            if framework_id in self.removed_frameworks:
                out.append(Send(sender, m.FrameworkError(message=f"Framework {framework_id} has been removed")))
            else:
                log.info("framework_unknown", framework_id=framework_id, sender=sender)
            return None
        return fw

    def make_status(self, task_id: str, state: str, *, reason: str = "", message: str = "", agent_id: str = "",
                    executor_id: str = "", now: float = 0.0) -> Dict:
        status: Dict = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_MASTER",
                        "timestamp": now + self.epoch_offset}
        if reason:
            status["reason"] = reason
        if message:
            status["message"] = message
        if agent_id:
            status["agent_id"] = {"value": agent_id}
        if executor_id:
            status["executor_id"] = {"value": executor_id}
        return status

    def send_status(self, framework_id: str, status: Dict, out: list[Effect]) -> None:
        """Send a master-made status (no uuid, no ack) to the framework if it is connected."""
        fw = self.frameworks.get(framework_id)
        if fw is None or not fw.connected:
            return
        agent_id = status.get("agent_id", {}).get("value", "") if isinstance(status.get("agent_id"), dict) else ""
        out.append(Send(fw.pid, m.StatusUpdate(framework_id=framework_id, status=status, agent_id=agent_id,
                                               timestamp=float(status.get("timestamp", 0.0)))))

    def update_task(self, task: Task, status: Dict, now: float, out: list[Effect], *, recover: bool = True) -> None:
        """Record ``status`` on ``task``; a terminal one frees its resources and completes it."""
        was_terminal = task.state in TERMINAL_STATES
        state = status.get("state")
        if isinstance(state, str) and state:
            task.state = state
        task.statuses.append(status)
        if was_terminal or task.state not in TERMINAL_STATES:
            return
        agent = self.agents.get(task.agent_id)
        if agent is not None:
            agent.tasks.pop((task.framework_id, task.task_id), None)
            if recover and agent.connected:
                out.append(ToAllocator("recover_resources", {
                    "framework_id": task.framework_id, "agent_id": task.agent_id,
                    "resources": task.resources, "now": now}))
        fw = self.frameworks.get(task.framework_id)
        if fw is not None and fw.tasks.get(task.task_id) is task:
            del fw.tasks[task.task_id]
            fw.add_completed(task, self.config)
        log.info("task_terminal", task_id=task.task_id, framework_id=task.framework_id, state=task.state)

    def remove_offer(self, offer: Offer, out: list[Effect], *, rescind: bool, recover: bool,
                     refuse_seconds: float | None = None, now: float = 0.0) -> None:
        self.offers.pop(offer.offer_id, None)
        fw = self.frameworks.get(offer.framework_id)
        if fw is not None:
            fw.offers.discard(offer.offer_id)
            if rescind and fw.connected:
                out.append(Send(fw.pid, m.RescindResourceOffer(offer_id=offer.offer_id)))
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.offers.discard(offer.offer_id)
        if recover:
            kwargs: Dict = {"framework_id": offer.framework_id, "agent_id": offer.agent_id,
                            "resources": offer.resources, "now": now, "role": offer.role}
            if refuse_seconds is not None:
                kwargs["refuse_seconds"] = refuse_seconds
            out.append(ToAllocator("recover_resources", kwargs))
