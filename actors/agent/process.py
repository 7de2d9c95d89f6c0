"""The agent actor: a thin shell around the task table and the status update
manager. Registration with the master, executors as OS processes, reliable
status updates (their rules: docs/protocol.md, "Reliability")."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

from actors.agent.checkpointed import agent_total, keep_checkpointed, load_checkpointed, sync_volume_dirs
from actors.agent.config import AgentConfig, parse_attributes
from actors.agent.detect import detect_resources
from actors.agent.entitlements import agent_entitlements
from actors.agent.executors import ExecutorsMixin, kill_group
from actors.agent.recovery import RecoveryMixin, load_checkpoint
from actors.agent.registration import MAX_REGISTRATION_BACKOFF, RegistrationMixin
from actors.agent.status_updates import PendingUpdate, StatusUpdateManager, is_terminal
from actors.agent.tasks import REGISTERED, TaskTable, TaskTableError, id_value
from actors.agent.work_dir import WorkDirError, prepare_work_dir
from actors.master_keys import pin_configured
from actors.clock import Timer
from actors.ha import LeaderDetector
from actors.node import Node
from actors.security.credentials import load_credential
from actors.v1_api import is_http_pid
from isolation import IsolationError, create_isolator
from actors.reservations import ReservationError
from transport.messages import (
    AgentRegistered,
    CheckpointResources,
    AgentReregistered,
    ExecutorToFramework,
    FrameworkToExecutor,
    KillTask,
    MasterRedirect,
    PingAgent,
    ReconcileTasks,
    RegisterExecutor,
    ReregisterExecutor,
    ResourceUsage,
    ResourceUsageRequest,
    RunTask,
    ShutdownAgent,
    ShutdownExecutor,
    ShutdownFramework,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    UpdateFramework,
)
from transport.pid import PID
from transport.schema import Message

__all__ = ["LAUNCHER_THREADS", "MAX_REGISTRATION_BACKOFF", "AgentProcess"]

LAUNCHER_THREADS = 2  # executor fork/execs in flight at once, off the agent's actor thread


class AgentProcess(RecoveryMixin, RegistrationMixin, ExecutorsMixin):
    """``AgentProcess.spawn(node, config, name)``; recovers from its checkpoint (RecoveryError
    when it cannot), then registers with ``config.master``.

    ``on_created(agent)``, if given, receives the actor object once it is built
    (before it starts), for in-process tests and tools that inspect it, and to route its
    HTTP endpoints (``spawn_agent``)."""

    def __init__(self, node: Node, config: AgentConfig, name: str = "agent(1)", *,
                 on_created: Callable[[AgentProcess], None] | None = None, http_port: int | None = None) -> None:
        config.validate()
        prepare_work_dir(config.work_dir)
        resources = detect_resources(config.resources, config.work_dir)
        self.base_resources = resources
        self.checkpointed: list[dict[str, Any]] = []
        try:
            self.checkpointed = load_checkpointed(config.work_dir)
            resources = agent_total(resources, self.checkpointed)
            sync_volume_dirs(config.work_dir, [], self.checkpointed)
        except ReservationError as e:  # e.g. --resources shrank: as Mesos, the agent cannot start so
            raise WorkDirError(f"--work_dir: the reservations checkpointed in {config.work_dir!r} do not fit "
                               f"--resources: {e}") from None
        attributes = parse_attributes(config.attributes)
        recovered = load_checkpoint(config, resources, attributes)  # RecoveryError: it cannot start
        agent_ports = tuple(resources.ranges("ports")) if config.check_agent_port_range_only else None
        isolator = create_isolator(config.isolation, **config.isolator_options(), agent_ports=agent_ports)
        super().__init__(node, name)
        self.config = config
        self.resources = resources
        self.attributes = attributes
        self.isolator = isolator
        self.table = TaskTable()
        self.updates = StatusUpdateManager(config.status_update_retry_interval,
                                           max(config.status_update_retry_max, config.status_update_retry_interval))
        self.updates.paused = True
        self.agent_id = ""
        self._init_recovery(recovered)  # the recovered agent's id
        zk = config.master.startswith("zk://")
        self.master: PID | None = PID.parse(f"master@{config.master}") if config.master and not zk else None
        self.detector = LeaderDetector(config.master, lambda leader: self.run(self._leader_detected, leader)) \
            if zk else None
        pin_configured(node, self.master, config.master_public_key)
        self.connected = False
        self._init_launchers(LAUNCHER_THREADS)
        self._backoff = max(config.registration_backoff_factor, 0.01)
        self._register_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self._retry_at: float | None = None
        # Who may send what (the current master, the registered executor): checked before each handler.
        self.entitlements = agent_entitlements(lambda: str(self.master) if self.master else None, self.table)
        for kind, handler in (
            (AgentRegistered, self._registered), (AgentReregistered, self._registered),
            (PingAgent, self._ping), (RunTask, self._run_task), (KillTask, self._kill_task),
            (ShutdownFramework, self._shutdown_framework), (ShutdownAgent, self._shutdown_agent),
            (ShutdownExecutor, self._shutdown_executor_of), (ReconcileTasks, self._reconcile),
            (UpdateFramework, self._update_framework), (FrameworkToExecutor, self._to_executor),
            (ExecutorToFramework, self._to_framework), (StatusUpdate, self._status_update),
            (StatusUpdateAcknowledgement, self._acknowledgement), (RegisterExecutor, self._register_executor),
            (ReregisterExecutor, self._reregister_executor), (ResourceUsageRequest, self._usage),
            (MasterRedirect, self._redirected), (CheckpointResources, self._checkpoint_resources),
        ):
            self.install(kind, self.entitlements.guard(handler), inline=kind is PingAgent)  # see _ping
        credential = load_credential(config.credential) if config.credential else None
        self._install_authentication(credential.principal if credential else None,
                                     credential.secret if credential else None)
        self.http_port = http_port  # where its HTTP endpoints are (AgentInfo.address)
        # Executors served on the HTTP port (v1 executor API streams): pid text -> what takes
        # the messages sent to it. Read and written on our thread.
        self.local_peers: dict[str, Callable[[Message], None]] = {}
        if on_created is not None:
            on_created(self)

    # --- life cycle -------------------------------------------------------------

    def initialize(self) -> None:
        self.log.info("agent_started", address=self.node.address, resources=str(self.resources),
                      isolation=self.config.isolation, work_dir=self.config.work_dir, master=self.config.master)
        self._recover()  # then registers (recovered executors re-registered or timed out)
        if self.detector is not None:
            self.detector.start()  # the leader comes to _leader_detected

    def finalize(self) -> None:
        if self.detector is not None:
            self.detector.stop()
        self._collect_launches()
        if self.config.shutdown_executors_on_stop:
            procs = dict(self._procs)
            for executor in list(self.table.executors.values()):
                if executor.pid:
                    self.send(PID.parse(executor.pid), ShutdownExecutor())
            deadline = time.monotonic() + self.config.executor_shutdown_grace_period
            for container_id, proc in procs.items():
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    kill_group(proc)
                self._cleanup_container(container_id)
            self._stop_recovered(deadline, set(procs))
        self._close_launchers()
        self.isolator.close()
        self.log.info("agent_stopped", agent_id=self.agent_id)

    def send(self, to: PID, msg: Message) -> None:
        """As ``Process.send``; to an HTTP executor through its stream (dropped once it has ended)."""
        text = str(to)
        if is_http_pid(text):
            deliver = self.local_peers.get(text)
            if deliver is not None:
                deliver(msg)
            return
        super().send(to, msg)

    def link(self, pid: PID) -> None:
        if not is_http_pid(str(pid)):  # an HTTP executor's end is its OS process exit (the reaper)
            super().link(pid)

    def handle_local(self, sender: str, msg: Message) -> None:
        """A message from a local peer (``local_peers``), handled as one from the wire (on our thread)."""
        handler = self._handlers.get(type(msg))
        if handler is None:
            raise TypeError(f"the agent does not handle {type(msg).__name__}")
        handler(PID.parse(sender), msg)

    def exited(self, pid: PID) -> None:
        if pid == self.master:
            self.log.warning("master_disconnected", master=str(pid))
            self._disconnected()
        else:
            executor = self.table.by_pid(str(pid))
            if executor is not None:  # its OS process exit, seen by the reaper, decides
                self.log.info("executor_disconnected", executor_id=executor.executor_id, pid=str(pid))

    # --- tasks ------------------------------------------------------------------

    def _run_task(self, sender: PID, msg: RunTask) -> None:
        framework_id = id_value(msg.framework.get("id"))
        task_id = id_value(msg.task.get("task_id"))
        self.table.add_framework(framework_id, msg.framework, msg.framework_pid)
        try:
            executor, created = self.table.add_task(framework_id, msg.task, str(uuid.uuid4()))
        except TaskTableError as e:
            self.log.warning("task_rejected", task_id=task_id, framework_id=framework_id, error=str(e))
            self._agent_update(framework_id, task_id, "", "TASK_FAILED", "REASON_TASK_INVALID", str(e))
            return
        self.log.info("task_launched", task_id=task_id, framework_id=framework_id,
                      executor_id=executor.executor_id, new_executor=created)
        self._checkpoint_launch(executor, msg.task, created)
        if created:
            self._launch(executor)
        else:
            try:
                self._link_volumes(executor.directory, msg.task)
            except (OSError, ValueError) as e:
                self.log.warning("volume_link_failed", task_id=task_id, error=str(e))
            self._update_limits(executor)
            if executor.state == REGISTERED:
                self.send(PID.parse(executor.pid), RunTask(framework=msg.framework,
                                                           framework_pid=msg.framework_pid, task=msg.task))

    def _kill_task(self, sender: PID, msg: KillTask) -> None:
        executor = self.table.executor_of_task(msg.framework_id, msg.task_id)
        if executor is None:
            self.log.warning("kill_unknown_task", task_id=msg.task_id, framework_id=msg.framework_id)
            self._agent_update(msg.framework_id, msg.task_id, "", "TASK_LOST", "REASON_TASK_UNKNOWN",
                               f"task {msg.task_id} is not on agent {self.agent_id}")
            return
        if self.table.dequeue(msg.framework_id, msg.task_id):
            self._agent_update(msg.framework_id, msg.task_id, executor.executor_id, "TASK_KILLED",
                               "REASON_TASK_KILLED_DURING_LAUNCH", "killed before the executor registered")
            if not self.table.live_tasks(executor):
                self._shutdown_executor(executor)
        elif executor.state == REGISTERED:
            self.send(PID.parse(executor.pid), msg)

    def _shutdown_framework(self, sender: PID, msg: ShutdownFramework) -> None:
        self.log.info("framework_shutdown", framework_id=msg.framework_id)
        for executor in self.table.framework_executors(msg.framework_id):
            self._shutdown_executor(executor)
        self.updates.remove_framework(msg.framework_id)

    def _shutdown_executor_of(self, sender: PID, msg: ShutdownExecutor) -> None:
        executor = self.table.executors.get((msg.framework_id, msg.executor_id))
        if executor is None:
            self.log.warning("executor_shutdown_unknown", executor_id=msg.executor_id, framework_id=msg.framework_id)
            return
        self.log.info("executor_shutdown_by_framework", executor_id=msg.executor_id, framework_id=msg.framework_id)
        self._shutdown_executor(executor)

    def _shutdown_agent(self, sender: PID, msg: ShutdownAgent) -> None:
        self.log.warning("agent_shutdown_by_master", message=msg.message)
        self._forget_checkpoint()
        self.master = None
        self.stop()

    def _checkpoint_resources(self, sender: PID, msg: CheckpointResources) -> None:
        items = [d for d in msg.resources if isinstance(d, dict)]
        try:
            total, created, removed = keep_checkpointed(self.config.work_dir, self.base_resources,
                                                        self.checkpointed, items)
        except ReservationError as e:
            self.log.error("checkpoint_resources_refused", error=str(e))
            return
        self.checkpointed, self.resources = items, total
        if self.agent_id:
            self._checkpoint_agent()  # a recovering agent compares its resources with what it saved
        for event, paths in (("volume_created", created), ("volume_destroyed", removed)):
            for path in paths:
                self.log.info(event, path=path)
        self.log.info("resources_checkpointed", resources=str(total), reservations=len(items))

    def _update_framework(self, sender: PID, msg: UpdateFramework) -> None:
        framework = self.table.frameworks.get(msg.framework_id)
        moved = framework is not None and framework.pid != msg.framework_pid
        if framework is not None:
            framework.pid = msg.framework_pid
            self._checkpoint_framework_pid(msg.framework_id, msg.framework_pid)
        if self.connected:  # as Mesos: resend the framework's pending updates now that it is back
            for update in self.updates.resend(msg.framework_id, self.clock.now(), moved=moved):
                self._forward(update)
            self._arm_retry()

    def _to_executor(self, sender: PID, msg: FrameworkToExecutor) -> None:
        executor = self.table.executors.get((msg.framework_id, msg.executor_id))
        if executor is None or executor.state != REGISTERED:
            self.log.warning("framework_message_dropped", executor_id=msg.executor_id, reason="executor not running")
            return
        self.send(PID.parse(executor.pid), msg)

    def _to_framework(self, sender: PID, msg: ExecutorToFramework) -> None:
        if self.master is not None and self.connected:
            self.send(self.master, ExecutorToFramework(agent_id=self.agent_id, framework_id=msg.framework_id,
                                                       executor_id=msg.executor_id, data=msg.data))

    def _usage(self, sender: PID, msg: ResourceUsageRequest) -> ResourceUsage:
        out = []
        for executor in self.table.executors.values():
            try:
                statistics = self.isolator.usage(executor.container_id).to_dict()
            except IsolationError:
                continue
            out.append({"framework_id": executor.framework_id, "executor_id": executor.executor_id,
                        "container_id": executor.container_id, "statistics": statistics})
        return ResourceUsage(executors=out)

    # --- status updates ------------------------------------------------------------

    def _status_update(self, sender: PID, msg: StatusUpdate) -> None:
        executor = self.table.executors[(msg.framework_id, msg.executor_id)]  # entitled: its registered pid
        status = dict(msg.status)
        status.setdefault("uuid", msg.uuid)
        status["agent_id"] = {"value": self.agent_id}
        status["executor_id"] = {"value": executor.executor_id}
        task_id = id_value(status.get("task_id"))
        if self.updates.is_acknowledged(msg.framework_id, task_id, status["uuid"]):
            self.send(sender, StatusUpdateAcknowledgement(agent_id=self.agent_id, framework_id=msg.framework_id,
                                                          task_id=task_id, uuid=status["uuid"]))
            return
        if status.get("state") == "TASK_FAILED":
            limitation = executor.limitation or self._limitation(executor.container_id)
            if limitation is not None:  # the container's limit explains the failure
                status.update(reason=limitation.reason, message=limitation.message)
        self._accept_update(msg.framework_id, status)

    def _agent_update(self, framework_id: str, task_id: str, executor_id: str, state: str, reason: str,
                      message: str) -> None:
        status = {"task_id": {"value": task_id}, "state": state, "reason": reason, "message": message,
                  "source": "SOURCE_AGENT", "agent_id": {"value": self.agent_id}, "timestamp": time.time(),
                  "uuid": uuid.uuid4().bytes}
        if executor_id:
            status["executor_id"] = {"value": executor_id}
        self._accept_update(framework_id, status)

    def _accept_update(self, framework_id: str, status: dict[str, Any]) -> None:
        task_id = id_value(status.get("task_id"))
        self._stamp_container(framework_id, status)
        try:
            accepted, to_send = self.updates.update(framework_id, status, self.clock.now())
        except ValueError as e:
            self.log.warning("status_update_rejected", task_id=task_id, error=str(e))
            return
        if not accepted:
            self.log.info("status_update_duplicate", task_id=task_id, state=status.get("state"))
            return
        task = self.table.set_state(framework_id, task_id, str(status.get("state")))
        self._checkpoint_stream(framework_id, task_id, str(status.get("state")))  # before it is forwarded
        self.log.info("status_update", task_id=task_id, framework_id=framework_id, state=status.get("state"),
                      reason=status.get("reason") or None, source=status.get("source"))
        if task is not None and is_terminal(task.state):
            executor = self.table.executors.get((framework_id, task.executor_id))
            if executor is not None and (executor.container_id in self._procs
                                         or executor.container_id in self._launching):
                self._update_limits(executor)
        for update in to_send:
            self._forward(update)
        self._arm_retry()

    def _forward(self, update: PendingUpdate) -> None:
        if self.master is None or not self.connected:
            return
        status = update.status
        latest = self.updates.latest(update.framework_id, update.task_id) or update
        self.send(self.master, StatusUpdate(framework_id=update.framework_id, status=status, uuid=update.uuid,
                                            agent_id=self.agent_id, executor_id=id_value(status.get("executor_id")),
                                            timestamp=float(status.get("timestamp") or 0.0),
                                            latest_state=str(latest.status.get("state") or "")))

    def _arm_retry(self) -> None:
        deadline = self.updates.next_deadline()
        if deadline is None or (self._retry_at is not None and self._retry_at <= deadline):
            return
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        self._retry_at = deadline
        self._retry_timer = self.delay(max(0.0, deadline - self.clock.now()), self._retry)

    def _retry(self) -> None:
        self._retry_timer = self._retry_at = None
        for update in self.updates.due(self.clock.now()):
            self.log.info("status_update_retried", task_id=update.task_id, attempts=update.attempts)
            self._forward(update)
        self._arm_retry()

    def _acknowledgement(self, sender: PID, msg: StatusUpdateAcknowledgement) -> None:
        result = self.updates.acknowledge(msg.framework_id, msg.task_id, msg.uuid, self.clock.now())
        if result.acked is None:
            self.log.info("acknowledgement_ignored", task_id=msg.task_id, framework_id=msg.framework_id)
            return
        status = result.acked.status
        if result.stream_closed:
            self.table.complete(msg.framework_id, msg.task_id)
        self._checkpoint_stream(msg.framework_id, msg.task_id, str(status.get("state")))
        for update in result.next:
            self._forward(update)
        self._arm_retry()
        executor = self.table.executors.get((msg.framework_id, id_value(status.get("executor_id"))))
        if status.get("source") == "SOURCE_EXECUTOR" and executor is not None and executor.pid:
            self.send(PID.parse(executor.pid), msg)
