"""The executor driver's actor: ``executor(1)`` on its own node in the executor
OS process. It registers with its agent, turns agent messages into Executor
callbacks (handed to the driver's callback thread) and keeps status updates
until the agent forwards their acknowledgements.

When its agent goes away, an executor of a checkpointing framework waits up to
MESOS_RECOVERY_TIMEOUT for a restarted agent's ReconnectExecutor (same agent
id, same host), then re-registers with the tasks it runs and the updates not
yet acknowledged (the agent re-sends those it does not have); a
non-checkpointing one shuts its tasks down and exits (Mesos' rules)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors.clock import Timer
from actors.entitlement import Entitlements, only_from
from actors.node import Node
from actors.process import Process
from transport.messages import (
    ExecutorRegistered,
    ExecutorReregistered,
    ExecutorToFramework,
    FrameworkToExecutor,
    KillTask,
    ReconnectExecutor,
    RegisterExecutor,
    ReregisterExecutor,
    RunTask,
    ShutdownExecutor,
    StatusUpdate,
    StatusUpdateAcknowledgement,
)
from transport.curve import CurveKeys
from transport.pid import PID

__all__ = ["FROM_AGENT", "REGISTRATION_RETRY", "ExecutorProcess", "ExecutorSettings", "spawn_executor_process"]

FROM_AGENT: tuple[type, ...] = (
    ExecutorRegistered, ExecutorReregistered, RunTask, KillTask, FrameworkToExecutor, StatusUpdateAcknowledgement,
    ShutdownExecutor,
)

Callback = Callable[..., None]
REGISTRATION_RETRY = 1.0  # seconds between RegisterExecutor messages until one is answered
_TERMINAL = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED",
                       "TASK_GONE", "TASK_GONE_BY_OPERATOR"})


@dataclass(frozen=True)
class ExecutorSettings:
    """What the MESOS_* environment tells an executor."""

    agent_pid: PID
    framework_id: str
    executor_id: str
    agent_id: str = ""
    directory: str = ""
    checkpoint: bool = False
    recovery_timeout: float = 900.0
    shutdown_grace_period: float = 5.0
    token: str = ""  # MESOS_EXECUTOR_AUTHENTICATION_TOKEN: proves to the agent that it launched us
    agent_public_key: bytes = b""  # MESOPY_AGENT_PUBLIC_KEY: with CURVE, the agent's key (Z85)
    curve: CurveKeys | None = None  # MESOPY_CURVE_PUBLIC_KEY/_SECRET_KEY: our pair, which the agent made


class ExecutorProcess(Process):
    """``callback(name, *args)`` queues an Executor callback; ``finished()`` asks the driver to stop."""

    use_daemon_thread = True  # an executor program that returns without stop() still exits

    def __init__(self, node: Node, name: str, settings: ExecutorSettings, callback: Callback,
                 finished: Callable[[], None],
                 on_created: Callable[[ExecutorProcess], None] | None = None) -> None:
        super().__init__(node, name)
        self.settings = settings
        self.agent_id = settings.agent_id
        self.connected = False
        self._register_done = False
        self.awaiting_agent = False  # its agent went away; waiting for it to come back (checkpointing)
        self._callback = callback
        self._finished = finished
        self.agent_pid = settings.agent_pid  # a restarted agent may come back on another port of its host
        self._unacked: dict[bytes, dict[str, Any]] = {}
        self._tasks: dict[str, dict[str, Any]] = {}  # launched here, terminal update not yet acknowledged
        self._acked = threading.Condition()
        self._recovery: Timer | None = None
        self.kill_policies: dict[str, dict[str, Any]] = {}  # task id -> kill_policy given with KillTask
        # Everything it handles comes from its agent only (the shared mechanism: actors/entitlement.py).
        from_agent = only_from(lambda: str(self.agent_pid), "not_its_agent")
        self.entitlements = Entitlements("executor_driver", {**{t: from_agent for t in FROM_AGENT},
                                                             ReconnectExecutor: self._reconnect_refusal})
        self.install(ExecutorRegistered, self._registered)
        self.install(ExecutorReregistered, self._reregistered)
        self.install(RunTask, self._run_task)
        self.install(KillTask, self._kill_task)
        self.install(FrameworkToExecutor, self._framework_message)
        self.install(StatusUpdateAcknowledgement, self._acknowledgement)
        self.install(ShutdownExecutor, self._shutdown_requested)
        self.install(ReconnectExecutor, self.entitlements.guard(self._reconnect))
        if on_created is not None:
            on_created(self)

    def initialize(self) -> None:
        self.link(self.agent_pid)
        self.log.info("executor_registering", agent=str(self.settings.agent_pid),
                      executor_id=self.settings.executor_id)
        self._register()

    def _register(self) -> None:
        """RegisterExecutor, again each REGISTRATION_RETRY seconds until the first answer (as
        Mesos' executor does): one sent while the agent restarts is not lost for good."""
        if self._register_done:
            return
        self.send(self.agent_pid, RegisterExecutor(framework_id=self.settings.framework_id,
                                                   executor_id=self.settings.executor_id, token=self.settings.token))
        self.delay(REGISTRATION_RETRY, self._register)

    def exited(self, pid: PID) -> None:
        if pid != self.agent_pid:
            return
        self.connected = False
        self.log.warning("agent_exited", agent=str(pid), checkpoint=self.settings.checkpoint)
        self._callback("disconnected")
        if not self.settings.checkpoint:  # Mesos: nothing would recover us, so exit now
            self._callback("shutdown")
            self._callback(None)
        else:
            self.awaiting_agent = True
            self._recovery = self.delay(self.settings.recovery_timeout, self._recovery_timeout)

    def _reconnect_refusal(self, sender: str, msg: ReconnectExecutor) -> str | None:
        """Mesos' check: the agent that recovered us has our agent's id (and, here, its host)."""
        if not self.settings.checkpoint:
            return "not_checkpointing"
        if msg.agent_id != self.agent_id:
            return "not_its_agent_id"
        try:
            host = PID.parse(sender).host
        except ValueError:
            return "not_its_agent"
        return None if host == self.agent_pid.host else "not_its_agent_host"

    def _reconnect(self, sender: PID, msg: ReconnectExecutor) -> None:
        """A restarted agent recovered us: re-register with our tasks and unacknowledged updates."""
        self.log.info("executor_reconnecting", agent=str(sender), agent_id=msg.agent_id,
                      tasks=len(self._tasks), unacknowledged=len(self._unacked))
        if sender != self.agent_pid:
            self._links.discard(self.agent_pid)
        self.agent_pid = sender
        self._register_done = True  # re-registering from now on
        self.link(sender)
        with self._acked:
            updates = list(self._unacked.values())
        self.send(sender, ReregisterExecutor(framework_id=self.settings.framework_id,
                                             executor_id=self.settings.executor_id, token=self.settings.token,
                                             tasks=list(self._tasks.values()), updates=updates))

    def _recovery_timeout(self) -> None:
        if not self.connected:
            self.awaiting_agent = False
            self.log.warning("agent_recovery_timeout", timeout=self.settings.recovery_timeout)
            self._callback("shutdown")
            self._callback(None)

    def _from_agent(self, sender: PID, msg: object) -> bool:
        return self.entitlements.allows(str(sender), msg)  # counted and logged (bounded) when not

    # --- from the agent --------------------------------------------------------

    def _registered(self, sender: PID, msg: ExecutorRegistered) -> None:
        if self._from_agent(sender, msg):
            self.agent_id, self.connected, self.awaiting_agent, self._register_done = msg.agent_id, True, False, True
            if self._recovery is not None:  # registered with a restarted agent (its first answer)
                self._recovery.cancel()
            if self.agent_pid not in self._links:  # the link to its first incarnation ended with it
                self.link(self.agent_pid)
            self._callback("registered", msg.executor_info, msg.framework_info, msg.agent_info)

    def _reregistered(self, sender: PID, msg: ExecutorReregistered) -> None:
        if self._from_agent(sender, msg):
            self.agent_id, self.connected, self.awaiting_agent = msg.agent_id, True, False
            if self._recovery is not None:
                self._recovery.cancel()
            self._callback("reregistered", msg.agent_info)

    def _run_task(self, sender: PID, msg: RunTask) -> None:
        if self._from_agent(sender, msg):
            task_id = msg.task.get("task_id")
            self._tasks[task_id.get("value", "") if isinstance(task_id, dict) else str(task_id)] = msg.task
            self._callback("launchTask", msg.task)

    def _kill_task(self, sender: PID, msg: KillTask) -> None:
        if self._from_agent(sender, msg):
            if msg.kill_policy:
                self.kill_policies[msg.task_id] = msg.kill_policy
            self._callback("killTask", {"value": msg.task_id})

    def _framework_message(self, sender: PID, msg: FrameworkToExecutor) -> None:
        if self._from_agent(sender, msg):
            self._callback("frameworkMessage", msg.data)

    def _shutdown_requested(self, sender: PID, msg: ShutdownExecutor) -> None:
        if self._from_agent(sender, msg):
            self.log.info("executor_shutdown_requested")
            self._callback("shutdown")
            self._callback(None)  # then stop the driver

    def _acknowledgement(self, sender: PID, msg: StatusUpdateAcknowledgement) -> None:
        if not self._from_agent(sender, msg):
            return
        with self._acked:
            status = self._unacked.pop(msg.uuid, None)
            self._acked.notify_all()
        if status is not None and status.get("state") in _TERMINAL:
            self._tasks.pop(msg.task_id, None)
        if status is None:
            self.log.info("acknowledgement_for_unknown_update", task_id=msg.task_id)

    # --- from the driver (run on this actor's thread) ----------------------------------

    def expect_acknowledgement(self, status: dict[str, Any]) -> None:
        """(Any thread) ``status`` is about to be sent: it awaits its acknowledgement from now on."""
        with self._acked:
            self._unacked[status["uuid"]] = status

    def send_update(self, status: dict[str, Any]) -> None:
        uuid: bytes = status["uuid"]
        self.expect_acknowledgement(status)
        status = dict(status, agent_id={"value": self.agent_id}) if self.agent_id else status
        self.send(self.agent_pid, StatusUpdate(
            framework_id=self.settings.framework_id, status=status, uuid=uuid, agent_id=self.agent_id,
            executor_id=self.settings.executor_id, timestamp=float(status.get("timestamp") or 0.0)))

    def send_message(self, data: bytes) -> None:
        self.send(self.agent_pid, ExecutorToFramework(
            agent_id=self.agent_id, framework_id=self.settings.framework_id,
            executor_id=self.settings.executor_id, data=data))

    def wait_acknowledged(self, timeout: float) -> bool:
        """Block (any thread but this actor's) until no update awaits its acknowledgement."""
        with self._acked:
            return self._acked.wait_for(lambda: not self._unacked, timeout)

    def unacknowledged(self) -> list[dict[str, Any]]:
        with self._acked:
            return list(self._unacked.values())


def spawn_executor_process(node: Node, settings: ExecutorSettings, callback: Callback,
                           finished: Callable[[], None], name: str = "executor(1)") -> ExecutorProcess:
    """Start ``ExecutorProcess`` on ``node`` and return the actor object itself (not its ref).

    The driver calls its thread-safe members: ``run`` (to hop onto the actor's
    thread), ``wait_acknowledged``, ``unacknowledged`` and ``kill_policies``.
    """
    created: list[ExecutorProcess] = []
    ExecutorProcess.spawn(node, name, settings, callback, finished, created.append)
    return created[0]
