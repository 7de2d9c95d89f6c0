"""The registration half of the agent actor: (re)registering with the master,
with backoff, and following the elected (or redirected-to) leader (mixed into AgentProcess)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from actors.agent.checkpointed import report
from actors.master_keys import pin_leader, pin_redirect
from actors.security.authenticating import AuthenticatingMixin
from transport.messages import (
    AgentRegistered,
    AgentReregistered,
    MasterRedirect,
    PingAgent,
    PongAgent,
    ReconcileTasks,
    RegisterAgent,
    ReregisterAgent,
)
from transport.pid import PID

if TYPE_CHECKING:
    from actors.agent.config import AgentConfig
    from actors.agent.status_updates import PendingUpdate, StatusUpdateManager
    from actors.agent.tasks import TaskTable
    from actors.clock import Timer
    from actors.ha import Leader, LeaderDetector
    from actors.resources import Resources

__all__ = ["MAX_REGISTRATION_BACKOFF", "RegistrationMixin"]

MAX_REGISTRATION_BACKOFF = 60.0


class RegistrationMixin(AuthenticatingMixin):
    """Needs the AgentProcess attributes below; ``_forward`` and ``_arm_retry`` are AgentProcess's.
    With ``--credential`` each registration with a master is preceded by authentication."""

    config: AgentConfig
    resources: Resources
    checkpointed: list[dict[str, Any]]
    attributes: list[dict[str, object]]
    http_port: int | None
    table: TaskTable
    updates: StatusUpdateManager
    agent_id: str
    master: PID | None
    detector: LeaderDetector | None
    connected: bool
    recovering: bool
    _backoff: float
    _register_timer: Timer | None
    _master_ping_timer: Timer | None = None
    _master_ping_timeout = 0.0
    _last_master_ping = 0.0

    def _forward(self, update: PendingUpdate) -> None:
        raise NotImplementedError

    def _arm_retry(self) -> None:
        raise NotImplementedError

    def _agent_update(self, framework_id: str, task_id: str, executor_id: str, state: str, reason: str,
                      message: str) -> None:
        raise NotImplementedError

    def _checkpoint_agent(self) -> None:
        raise NotImplementedError

    def _terminated_tasks(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def agent_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "hostname": self.config.hostname or self.pid.host, "port": self.pid.port,
            "resources": report(self.resources, self.checkpointed), "attributes": self.attributes,
            "pid": str(self.pid),
        }
        if self.http_port is not None:  # where its HTTP endpoints are (MasterInfo's shape)
            info["address"] = {"ip": self.pid.host, "hostname": info["hostname"], "port": self.http_port}
        if self.agent_id:
            info["id"] = {"value": self.agent_id}
        return info

    def _register(self) -> None:
        self._register_timer = None
        if self.master is None or self.connected or self.recovering:
            return
        if self.master not in self._links:
            self.link(self.master)
        if self._authenticate_before_registering():
            pass  # registers once authenticated (``_authenticated``); the timer below retries
        elif self.agent_id:
            tasks, executors, frameworks = self.table.snapshot(self.agent_id)
            tasks += self._terminated_tasks()
            self.send(self.master, ReregisterAgent(agent=self.agent_info(), tasks=tasks, executors=executors,
                                                   frameworks=frameworks))
        else:
            self.send(self.master, RegisterAgent(agent=self.agent_info()))
        delay = self._backoff * (0.5 + random.random() / 2)
        self._backoff = min(self._backoff * 2, MAX_REGISTRATION_BACKOFF)
        self._register_timer = self.delay(delay, self._register)
        self.log.info("registration_sent", master=str(self.master), reregister=bool(self.agent_id),
                      retry_in=round(delay, 2))

    def _authenticated(self) -> None:
        if self._register_timer is not None:
            self._register_timer.cancel()
        self._register()

    def _master_unproven(self, message: str) -> None:
        pass  # logged; not registered: the timer authenticates again with backoff

    def _registered(self, sender: PID, msg: AgentRegistered | AgentReregistered) -> None:
        self._watch_master_pings(msg.ping_interval * max(1, msg.max_ping_timeouts))
        if self.agent_id and msg.agent_id != self.agent_id:
            self.log.warning("agent_id_changed", old=self.agent_id, new=msg.agent_id)
        changed = msg.agent_id != self.agent_id
        self.agent_id = msg.agent_id
        if changed:
            self._checkpoint_agent()
        if self.connected:
            return
        self.connected = True
        self._backoff = max(self.config.registration_backoff_factor, 0.01)
        if self._register_timer is not None:
            self._register_timer.cancel()
            self._register_timer = None
        self.log.info("agent_registered", agent_id=self.agent_id, master=str(sender),
                      reregistered=isinstance(msg, AgentReregistered))
        for update in self.updates.resume(self.clock.now()):
            self._forward(update)
        self._arm_retry()

    def _reconcile(self, sender: PID, msg: ReconcileTasks) -> None:
        """The master misses these tasks in our report: each we do not know ends, through the
        status update manager (a terminal update it already has makes this one a dropped duplicate)."""
        task_ids = [str((s.get("task_id") or {}).get("value") or "") for s in msg.statuses if isinstance(s, dict)]
        for task_id, state in self.table.unknown(msg.framework_id, [t for t in task_ids if t]):
            self.log.info("task_unknown_on_reconciliation", task_id=task_id, framework_id=msg.framework_id)
            self._agent_update(msg.framework_id, task_id, "", state, "REASON_RECONCILIATION",
                               "Reconciliation: task unknown to the agent")

    def _disconnected(self) -> None:
        self.connected = False
        self._forget_authentication()
        self.updates.paused = True
        if self._register_timer is None:
            self._register()

    def _leader_detected(self, leader: Leader | None) -> None:
        pin_leader(self.node, leader)
        self._follow(leader.pid if leader is not None else "", "elected")

    def _redirected(self, sender: PID, msg: MasterRedirect) -> None:
        self.log.info("registration_redirected", master=str(sender), leader=msg.leader or None, message=msg.message)
        if msg.leader and self.detector is None:  # with zk:// the election alone decides (a redirect may be stale)
            pin_redirect(self.node, sender, msg.leader)
            self._follow(msg.leader, "redirect")

    def _follow(self, leader: str, why: str) -> None:
        """Register (again) with ``leader`` ("" : none is elected; wait for one)."""
        if leader == (str(self.master) if self.master else ""):
            return
        self.log.info("master_changed", old=str(self.master) if self.master else None, new=leader or None, why=why)
        self.master = PID.parse(leader) if leader else None
        self._backoff = max(self.config.registration_backoff_factor, 0.01)
        if self._register_timer is not None:
            self._register_timer.cancel()
            self._register_timer = None
        self._disconnected()  # pauses updates and registers with the new master

    def _watch_master_pings(self, timeout: float) -> None:
        """Count the master lost when no ping comes for ``timeout`` seconds (Mesos' agent ping
        timeout): a partition the master saw as the agent going unreachable; re-register."""
        self._master_ping_timeout = timeout if timeout > 0 else 0.0
        self._last_master_ping = self.clock.now()
        if self._master_ping_timer is None and self._master_ping_timeout:
            self._master_ping_timer = self.delay(self._master_ping_timeout, self._check_master_pings)

    def _check_master_pings(self) -> None:
        self._master_ping_timer = None
        if not self.connected or not self._master_ping_timeout:
            return
        silent = self.clock.now() - self._last_master_ping
        if silent < self._master_ping_timeout:
            self._master_ping_timer = self.delay(self._master_ping_timeout - silent, self._check_master_pings)
            return
        self.log.warning("master_ping_timeout", master=str(self.master), silent=round(silent, 3))
        self._disconnected()

    def _ping(self, sender: PID, msg: PingAgent) -> None:
        """Installed inline (the I/O thread answers it when we are idle): short and never blocking;
        a master that no longer knows us (re-registering snapshots every task) is left to our thread."""
        self._last_master_ping = self.clock.now()
        self.send(sender, PongAgent())
        if not msg.connected and self.connected:
            self.run(self._unknown_to_master)

    def _unknown_to_master(self) -> None:
        if self.connected:
            self.log.warning("master_does_not_know_agent", agent_id=self.agent_id)
            self._disconnected()
