"""The master's records and the helpers every message handler shares.

``MasterLedger`` holds the frameworks, agents and offers the master knows, the
deadline index and the operations more than one handler needs (ids, statuses,
removing an offer, ending a task). The handler modules (``agents``,
``frameworks``, ``offers``, ``tasks``, ``state_json``) take a ledger;
``MasterCore`` (in ``core``) is the ledger plus the dispatch over them. Pure:
no I/O, no clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog

from actors.allocator.quota import Quota
from actors.master.admission import Admission
from actors.master.compact import Interner
from actors.master.config import MasterConfig, parse_roles
from actors.master.entitlements import master_entitlements
from actors.master.framework_ids import FrameworkIds
from actors.master.registrar import Registrar
from actors.master.registry import AgentRecord
from actors.master.security import MasterSecurity
from actors.master.volumes import release
from actors.resources import Resources
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
from actors.version import MESOS_VERSION
from transport import messages as m

__all__ = ["MasterLedger"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]


class MasterLedger:
    """The master's bookkeeping. ``master_id`` is a uuid text; ``pid`` the master's pid text."""

    def __init__(self, config: MasterConfig, master_id: str, pid: str, *, version: str = MESOS_VERSION,
                 start_time: float = 0.0) -> None:
        self.config = config
        self.master_id = master_id
        self.pid = pid
        self.version = version
        self.start_time = start_time
        self.http_port: int | None = None  # MasterInfo.address.port: the HTTP port (the shell sets it)
        self.epoch_offset = 0.0  # epoch seconds minus ``now``: every published time is ``now + epoch_offset``
        self.allowed_roles = parse_roles(config.roles)
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(maxlen=config.max_completed_frameworks)
        self.removed_frameworks = FrameworkIds(master_id, self.frameworks)
        self.framework_pids: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        self.removed_agents: set[str] = set()
        self.agent_pids: dict[str, str] = {}
        # The registry (durable with --zk or --registry=replicated_log), and the agents it admitted
        # that have not re-registered since this master recovered it (Mesos' ``slaves.recovered``),
        # until ``recovered_deadline``.
        self.registrar = Registrar(durable=config.durable_registry)
        self.recovered: dict[str, AgentRecord] = {}
        self.recovered_deadline: float | None = None
        self.recovery_removals = 0  # recovered agents marked unreachable at the deadline
        # Agents whose registry change is being stored: a repeat of their request is dropped meanwhile.
        self.admitting: set[str] = set()  # pids of registering agents
        self.readmitting: set[str] = set()  # ids of re-registering agents
        self.marking_unreachable: set[str] = set()  # ids
        self.offers: dict[str, Offer] = {}
        # One Resources object per distinct agent total and task allocation (actors/master/compact.py).
        self.shared_resources: Interner[Resources] = Interner()
        self.quotas: dict[str, Quota] = {}  # role -> quota (actors/master/quota.py)
        self.terminal_counts: dict[str, int] = {}  # tasks ended, by state, since start (for metrics)
        self._next_agent = 0
        self._next_offer = 0
        # (when, seq, kind, key): an index of the records' deadlines, invalidated lazily (the
        # record's own field is the truth), so that next_deadline and tick are not O(agents).
        self._deadlines: list[tuple[float, int, str, str]] = []
        self._deadline_seq = itertools.count()
        self.entitlements = master_entitlements(self.frameworks, self.agents, self.agent_pids)  # who may send what
        self.admission = Admission(config.rate_limits, config.max_frameworks_per_peer, self.frameworks,
                                   self.framework_pids)  # framework registrations: rate limits, per-peer cap
        self.observers: list[Callable[[str, Any], None]] = []  # told of each change (see observe)
        self.security = MasterSecurity(config, pid)  # authentication and --acls (actors/master/security.py)

    def schedule(self, kind: str, key: str, when: float) -> None:
        """Index a record's new deadline: ``kind`` "ping" (agent id), "failover" (framework id), "offer"
        or "recovered" (key "": the end of the recovered agents' re-registration window)."""
        heapq.heappush(self._deadlines, (when, next(self._deadline_seq), kind, key))

    def observe(self, kind: str, record: Any) -> None:
        """Tell the observers (the v1 APIs' streams) of a change, at once, with the record changed:
        ``task_added``/``task_updated`` (Task), ``agent_added``/``agent_removed`` (Agent),
        ``framework_added``/``framework_updated``/``framework_removed`` (Framework)."""
        for observer in self.observers:
            try:
                observer(kind, record)
            except Exception:  # an observer's failure is not the master's
                log.exception("master_observer_failed", kind=kind)

    # --- shared helpers ---------------------------------------------------------

    def master_info(self) -> Dict:
        host, _, port = self.pid.rpartition("@")[2].rpartition(":")
        hostname = self.config.hostname or host
        http_port = self.http_port if self.http_port is not None else int(port or 0)
        return {
            "id": self.master_id, "pid": self.pid, "ip": host, "port": int(port or 0),
            "hostname": hostname, "version": self.version,
            "address": {"ip": host, "hostname": hostname, "port": http_port},
        }

    def authorize(self, action: str, principal: str | None, obj: str | None) -> bool:
        """May ``principal`` do ``action`` (actors/security/acls.py's names) on ``obj``, by ``--acls``?"""
        return self.security.authorize(action, principal, obj)

    def new_framework_id(self) -> str:
        return self.removed_frameworks.new()

    def new_agent_id(self) -> str:
        while True:
            aid = f"{self.master_id}-S{self._next_agent}"
            self._next_agent += 1
            known = self.registrar.registry
            if aid not in self.agents and aid not in self.removed_agents and aid not in known.admitted \
                    and aid not in known.unreachable and aid not in known.gone:
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

    def update_task(self, task: Task, status: Dict, now: float, out: list[Effect], *, recover: bool = True,
                    state: str | None = None) -> None:
        """Record ``status`` on ``task``; a terminal one frees its resources and completes it.
        ``state``: the task's state when newer than the status' (a resent update's latest_state)."""
        was_terminal = task.state in TERMINAL_STATES
        state = state or status.get("state")
        if isinstance(state, str) and state:
            task.state = state
        task.record_status(status)
        self.observe("task_updated", task)
        if was_terminal or task.state not in TERMINAL_STATES:
            return
        self.terminal_counts[task.state] = self.terminal_counts.get(task.state, 0) + 1
        agent = self.agents.get(task.agent_id)
        if agent is not None:
            agent.tasks.pop((task.framework_id, task.task_id), None)
            if agent.volumes:
                release(agent, task=(task.framework_id, task.task_id))
            if recover and agent.connected:
                out.append(ToAllocator("recover_resources", {
                    "framework_id": task.framework_id, "agent_id": task.agent_id,
                    "resources": task.resources, "now": now, "role": task.role or None}))
        fw = self.frameworks.get(task.framework_id)
        if fw is not None and fw.tasks.get(task.task_id) is task:
            del fw.tasks[task.task_id]
            fw.add_completed(task, self.config)
        log.info("task_terminal", task_id=task.task_id, framework_id=task.framework_id, state=task.state)

    def rescind_agent_offers(self, agent: Agent, now: float, out: list[Effect]) -> None:
        """Take back every offer of ``agent`` (its resources are leaving the allocator)."""
        for oid in list(agent.offers):
            if oid in self.offers:
                self.remove_offer(self.offers[oid], out, rescind=True, recover=False, now=now)

    def drop_agent(self, agent: Agent, out: list[Effect]) -> None:
        """Forget ``agent`` (removed or unreachable) once its tasks are dealt with: out of the allocator."""
        agent.tasks.clear()
        agent.executors.clear()
        agent.executor_infos.clear()
        out.append(ToAllocator("remove_agent", {"agent_id": agent.agent_id}))
        del self.agents[agent.agent_id]
        if self.agent_pids.get(agent.pid) == agent.agent_id:
            del self.agent_pids[agent.pid]

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
            agent.offers.pop(offer.offer_id, None)
            if agent.volumes:
                release(agent, offer=offer.offer_id)
        if recover:
            kwargs: Dict = {"framework_id": offer.framework_id, "agent_id": offer.agent_id,
                            "resources": offer.resources, "now": now, "role": offer.role}
            if refuse_seconds is not None:
                kwargs["refuse_seconds"] = refuse_seconds
            out.append(ToAllocator("recover_resources", kwargs))
