"""Test support for the agent's integration tests: a stand-in master.

The stand-in speaks the master's side of the agent protocol (docs/protocol.md):
it registers the agent, sends RunTask / KillTask / FrameworkToExecutor as a
test asks, records every StatusUpdate and acknowledges it (like the master
forwarding the framework's acknowledgement). A legitimate protocol-level
test double: these tests are about the agent, not the master.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from actors.agent import AgentConfig, AgentProcess
from actors.node import Node
from actors.process import Process
from transport.messages import (
    AgentRegistered,
    AgentReregistered,
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkToExecutor,
    KillTask,
    RegisterAgent,
    ReregisterAgent,
    ResourceUsageRequest,
    RunTask,
    StatusUpdate,
    StatusUpdateAcknowledgement,
)
from transport.pid import PID

__all__ = ["FRAMEWORK_ID", "StandInMaster", "command_task", "spawn_master", "start_agent"]

FRAMEWORK_ID = "fw-0001"
FRAMEWORK = {"id": {"value": FRAMEWORK_ID}, "name": "test", "user": "root"}


def command_task(command: str, cpus: float = 0.1, mem: float = 32, task_id: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    return {"name": "t", "task_id": {"value": task_id or f"task-{uuid.uuid4().hex[:8]}"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}],
            "command": {"value": command, "shell": True}, **extra}


class StandInMaster(Process):
    def __init__(self, node: Node, auto_ack: bool = True,
                 on_created: Callable[[StandInMaster], None] | None = None) -> None:
        super().__init__(node, "master")
        self.auto_ack = auto_ack
        self.cond = threading.Condition()
        self.agent: PID | None = None
        self.registrations: list[Any] = []
        self.updates: list[StatusUpdate] = []
        self.received_at: list[float] = []  # time.monotonic() of each update, for benchmarks
        self.messages: list[ExecutorToFramework] = []
        self.exited_executors: list[ExitedExecutor] = []
        self.install(RegisterAgent, self._register)
        self.install(ReregisterAgent, self._register)
        self.install(StatusUpdate, self._update)
        self.install(ExecutorToFramework, self._record(self.messages))
        self.install(ExitedExecutor, self._record(self.exited_executors))
        if on_created is not None:
            on_created(self)

    def _register(self, sender: PID, msg: RegisterAgent | ReregisterAgent) -> None:
        reply = AgentReregistered if isinstance(msg, ReregisterAgent) else AgentRegistered
        self.send(sender, reply(agent_id="agent-S0", master_info={"id": "m"}))
        with self.cond:
            self.agent = sender
            self.registrations.append(msg)
            self.cond.notify_all()

    def _update(self, sender: PID, msg: StatusUpdate) -> None:
        if self.auto_ack and msg.uuid:  # before recording: a test that saw the update may sync_agent()
            self.ack(msg)
        with self.cond:
            self.updates.append(msg)
            self.received_at.append(time.monotonic())
            self.cond.notify_all()

    def ack(self, msg: StatusUpdate) -> None:
        self.send(self.agent or PID.parse(msg.status["agent_id"]["value"]), StatusUpdateAcknowledgement(
            agent_id=msg.agent_id, framework_id=msg.framework_id, task_id=msg.status["task_id"]["value"],
            uuid=msg.uuid))

    def _record(self, into: list[Any]) -> Callable[[PID, Any], None]:
        def handler(sender: PID, msg: Any) -> None:
            with self.cond:
                into.append(msg)
                self.cond.notify_all()
        return handler

    # --- called from the test thread ---------------------------------------------

    def wait(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        with self.cond:
            result = self.cond.wait_for(predicate, timeout)
        assert result, "timed out waiting"
        return result

    def poll(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Like wait, for a predicate no message of ours signals: re-checked every 50 ms."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            assert time.monotonic() < deadline, "timed out polling"
            with self.cond:
                self.cond.wait(0.05)
        return result

    def states(self, task_id: str) -> list[str]:
        return [u.status["state"] for u in self.updates if u.status["task_id"]["value"] == task_id]

    def wait_terminal(self, task_id: str, timeout: float = 15.0) -> StatusUpdate:
        terminal = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR"}

        def found() -> StatusUpdate | None:
            for u in self.updates:
                if u.status["task_id"]["value"] == task_id and u.status["state"] in terminal:
                    return u
            return None
        return self.wait(found, timeout)

    def wait_state(self, task_id: str, state: str, timeout: float = 15.0) -> None:
        self.wait(lambda: state in self.states(task_id), timeout)

    def sync_agent(self) -> Any:
        """Round trip to the agent: everything this master sent before has been handled."""
        assert self.agent is not None
        return self.request(self.agent, ResourceUsageRequest(), timeout=10).result(10)

    # Sends go from the calling (test) thread, like ``sync_agent``'s request, so they stay in order.
    def run_task(self, task: dict[str, Any]) -> None:
        assert self.agent is not None
        self.send(self.agent, RunTask(framework=FRAMEWORK, framework_pid="scheduler(x)@127.0.0.1:1",
                                      task=task))

    def kill_task(self, task_id: str, kill_policy: dict[str, Any] | None = None) -> None:
        assert self.agent is not None
        self.send(self.agent, KillTask(framework_id=FRAMEWORK_ID, task_id=task_id, agent_id="agent-S0",
                                       kill_policy=kill_policy or {}))

    def to_executor(self, executor_id: str, data: bytes) -> None:
        assert self.agent is not None
        self.send(self.agent, FrameworkToExecutor(agent_id="agent-S0", framework_id=FRAMEWORK_ID,
                                                  executor_id=executor_id, data=data))


def spawn_master(node: Node) -> StandInMaster:
    created: list[StandInMaster] = []
    StandInMaster.spawn(node, on_created=created.append)
    return created[0]


def start_agent(node: Node, master: StandInMaster, work_dir: str, **flags: Any) -> AgentProcess:
    """Spawn an agent on ``node`` registered with ``master``; returns the actor object."""
    flags.setdefault("resources", "cpus:2;mem:2048;disk:1000;ports:[31000-31010]")
    config = AgentConfig(master=f"127.0.0.1:{node.port}", work_dir=work_dir, registration_backoff_factor=0.2,
                         **flags)
    created: list[AgentProcess] = []
    AgentProcess.spawn(node, config, "agent(1)", on_created=created.append)
    master.wait(lambda: master.agent is not None)
    return created[0]
