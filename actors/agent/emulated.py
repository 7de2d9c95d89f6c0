"""Emulated executors: the agent's executors without OS processes, for protocol tests.

With ``LocalCluster(executor="emulated")`` each agent gets one
:class:`EmulatedExecutors` actor. When the agent would start an executor's OS
process it asks this actor instead, which gives the executor a pid of its own
on the node (``executor(<container id>)@host:port``) and plays the executor's
side of the protocol: RegisterExecutor, then for each RunTask the updates a
command executor sends (TASK_STARTING, TASK_RUNNING), then the task's end as
its :class:`TaskRule` says, in cluster time. Every update goes to the agent as
a StatusUpdate from that pid, so the agent's status update manager, the
master, the driver's acknowledgements and the agent's retries all run as they
do with real executors; a command executor "exits" (the agent sees its
container end with status 0) once its terminal update is acknowledged, a
killed container ends with SIGKILL. Resources are accounted by the real agent
and master, so offers are what they would be.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.agent.status_updates import is_terminal
from actors.agent.tasks import id_value
from actors.clock import Timer
from actors.node import Node
from actors.process import Process
from transport.codec import Envelope
from transport.messages import (
    ExecutorRegistered,
    FrameworkToExecutor,
    KillTask,
    RegisterExecutor,
    RunTask,
    ShutdownExecutor,
    StatusUpdate,
    StatusUpdateAcknowledgement,
)
from transport.pid import PID

__all__ = ["TASK_STATES", "EmulatedExecutors", "TaskRule", "as_rule"]

TASK_STATES = frozenset({
    "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED",
    "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE",
})


def describe_exit(status: int) -> str:
    """The command executor's message for an exit status (negative: killed by that signal)."""
    if status < 0:
        try:
            return f"Command terminated by signal {signal.Signals(-status).name}"
        except ValueError:
            return f"Command terminated by signal {-status}"
    return f"Command exited with status {status}"


@dataclass(frozen=True)
class TaskRule:
    """How an emulated task ends, in cluster seconds after its TASK_RUNNING.

    ``duration`` (None: it runs until killed) then TASK_FINISHED for
    ``exit_status`` 0, else TASK_FAILED ("Command exited with status N";
    negative: "terminated by signal"). ``states``, when given, replaces that:
    ``(seconds after the previous step, state)`` pairs sent in order; a task
    whose last state is not terminal runs until killed.
    """

    duration: float | None = 0.0
    exit_status: int = 0
    states: tuple[tuple[float, str], ...] = ()

    def __post_init__(self) -> None:
        if self.duration is not None and not (isinstance(self.duration, (int, float)) and self.duration >= 0):
            raise ValueError(f"duration must be a number >= 0 or None, got {self.duration!r}")
        if not isinstance(self.exit_status, int) or isinstance(self.exit_status, bool):
            raise ValueError(f"exit_status must be an int, got {self.exit_status!r}")
        for step in self.states:
            after, state = step
            if state not in TASK_STATES:
                raise ValueError(f"unknown task state {state!r} in states (one of {', '.join(sorted(TASK_STATES))})")
            if not isinstance(after, (int, float)) or after < 0:
                raise ValueError(f"seconds before {state} must be a number >= 0, got {after!r}")

    def steps(self) -> list[tuple[float, str, str]]:
        """``(delay, state, message)`` to send after TASK_RUNNING."""
        if self.states:
            return [(float(after), state, "") for after, state in self.states]
        if self.duration is None:
            return []
        state = "TASK_FINISHED" if self.exit_status == 0 else "TASK_FAILED"
        return [(float(self.duration), state, describe_exit(self.exit_status))]


RuleSource = TaskRule | float | int | None | Sequence[Any] | Callable[[dict[str, Any]], Any]


def as_rule(source: Any, task: dict[str, Any]) -> TaskRule:
    """A TaskRule from what a test gave: a TaskRule, a duration, None (until killed), a
    sequence of states (``"TASK_FAILED"`` or ``(seconds, "TASK_FAILED")``), or a callable
    taking the task dict and returning any of those."""
    if callable(source) and not isinstance(source, TaskRule):
        source = source(task)
        if callable(source) and not isinstance(source, TaskRule):
            raise TypeError(f"a task rule callable must return a rule, not another callable {source!r}")
    if isinstance(source, TaskRule):
        return source
    if source is None:
        return TaskRule(duration=None)
    if isinstance(source, (int, float)) and not isinstance(source, bool):
        return TaskRule(duration=float(source))
    if isinstance(source, (list, tuple)):
        steps = tuple((0.0, s) if isinstance(s, str) else (s[0], s[1]) for s in source)
        return TaskRule(states=steps)
    raise TypeError(f"task rule must be a TaskRule, seconds, None, a list of states or a callable, got {source!r}")


@dataclass
class _Executor:
    framework_id: str
    executor_id: str
    command: bool
    pid: PID
    on_exit: Callable[[int], None]
    agent_id: str = ""
    live: dict[str, list[Timer]] = field(default_factory=dict)  # task id -> its pending steps
    unacked: set[bytes] = field(default_factory=set)
    ended: bool = False  # a command executor's task is over


class EmulatedExecutors(Process):
    """``emulated-executors-agent(N)``: every emulated executor of one agent (see the module's docs).

    Framework messages to an emulated executor are logged and dropped."""

    def __init__(self, node: Node, name: str, agent: PID, rule: RuleSource = None,
                 holder: list[EmulatedExecutors] | None = None) -> None:
        super().__init__(node, name)
        self.agent = agent
        self.rule = rule
        self._executors: dict[str, _Executor] = {}  # by pid name
        self._to = ""  # the executor the message being handled is for
        for kind, handler in ((ExecutorRegistered, self._registered), (RunTask, self._run_task),
                              (KillTask, self._kill_task), (StatusUpdateAcknowledgement, self._acknowledged),
                              (ShutdownExecutor, self._shutdown_requested),
                              (FrameworkToExecutor, self._framework_message)):
            self.install(kind, handler)  # type: ignore[arg-type]
        if holder is not None:
            holder.append(self)

    def finalize(self) -> None:
        for name in list(self._executors):
            self._exit(name, -signal.SIGKILL)

    def _handle(self, env: Envelope) -> None:  # which of our pids it was sent to
        self._to = env.receiver.name
        super()._handle(env)

    # --- from the agent (any thread) ----------------------------------------------

    def launch(self, framework_id: str, executor_id: str, container_id: str, command: bool,
               on_exit: Callable[[int], None], token: str = "") -> None:
        """Start an executor for the agent (registering with ``token``); ``on_exit(returncode)`` when it ends."""
        self.run(self._start, framework_id, executor_id, container_id, command, on_exit, token)

    def kill(self, container_id: str) -> None:
        """End the container at once, as SIGKILL would."""
        self.run(self._exit, _name(container_id), -signal.SIGKILL)

    # --- the executors' side of the protocol ------------------------------------------

    def _start(self, framework_id: str, executor_id: str, container_id: str, command: bool,
               on_exit: Callable[[int], None], token: str = "") -> None:
        name = _name(container_id)
        pid = self.node.register(name, self)
        self._executors[name] = _Executor(framework_id, executor_id, command, pid, on_exit)
        self.log.info("emulated_executor_started", executor_id=executor_id, pid=str(pid))
        self.node.route(pid, self.agent, RegisterExecutor(framework_id=framework_id, executor_id=executor_id,
                                                               token=token))

    def _current(self, sender: PID) -> _Executor | None:
        executor = self._executors.get(self._to)
        if executor is None or sender != self.agent:
            self.log.info("emulated_message_ignored", to=self._to, sender=str(sender))
            return None
        return executor

    def _registered(self, sender: PID, msg: ExecutorRegistered) -> None:
        executor = self._current(sender)
        if executor is not None:
            executor.agent_id = msg.agent_id

    def _run_task(self, sender: PID, msg: RunTask) -> None:
        executor = self._current(sender)
        if executor is None:
            return
        task_id = id_value(msg.task.get("task_id"))
        try:
            rule = as_rule(self.rule, dict(msg.task))
        except (TypeError, ValueError) as e:
            self._update(executor, task_id, "TASK_FAILED", f"emulated task rule failed: {e}",
                         "REASON_COMMAND_EXECUTOR_FAILED")
            return
        executor.live[task_id] = []
        if executor.command:
            self._update(executor, task_id, "TASK_STARTING")
        self._update(executor, task_id, "TASK_RUNNING")
        self._next(executor.pid.name, task_id, rule.steps())

    def _next(self, name: str, task_id: str, steps: list[tuple[float, str, str]]) -> None:
        """Arm the first of ``steps``; each step arms the one after it."""
        executor = self._executors.get(name)
        if executor is None or task_id not in executor.live or not steps:
            return
        delay, state, message = steps[0]
        rest = steps[1:]  # the clock's timer, not self.delay: a killed task's timer is not kept
        executor.live[task_id] = [self.clock.call_later(
            delay, lambda: self.run(self._step, name, task_id, state, message, rest))]

    def _step(self, name: str, task_id: str, state: str, message: str, rest: list[tuple[float, str, str]]) -> None:
        executor = self._executors.get(name)
        if executor is None or task_id not in executor.live:
            return
        self._update(executor, task_id, state, message)
        self._next(name, task_id, rest)

    def _kill_task(self, sender: PID, msg: KillTask) -> None:
        executor = self._current(sender)
        if executor is not None and msg.task_id in executor.live:
            self._update(executor, msg.task_id, "TASK_KILLED", describe_exit(-signal.SIGTERM))

    def _framework_message(self, sender: PID, msg: FrameworkToExecutor) -> None:
        if self._current(sender) is not None:
            self.log.info("emulated_framework_message_dropped", executor_id=msg.executor_id, size=len(msg.data))

    def _shutdown_requested(self, sender: PID, msg: ShutdownExecutor) -> None:
        executor = self._current(sender)
        if executor is None:
            return
        for task_id in list(executor.live):
            self._update(executor, task_id, "TASK_KILLED", describe_exit(-signal.SIGTERM))
        self._exit(executor.pid.name, 0)

    def _acknowledged(self, sender: PID, msg: StatusUpdateAcknowledgement) -> None:
        executor = self._current(sender)
        if executor is None:
            return
        executor.unacked.discard(msg.uuid)
        if executor.command and executor.ended and not executor.unacked:
            self._exit(executor.pid.name, 0)

    def _update(self, executor: _Executor, task_id: str, state: str, message: str = "", reason: str = "") -> None:
        if is_terminal(state):
            for timer in executor.live.pop(task_id, []):
                timer.cancel()
            executor.ended = executor.command
        update_uuid = uuid.uuid4().bytes
        status: dict[str, Any] = {
            "task_id": {"value": task_id}, "state": state, "message": message, "source": "SOURCE_EXECUTOR",
            "executor_id": {"value": executor.executor_id}, "uuid": update_uuid, "timestamp": time.time()}
        if reason:
            status["reason"] = reason
        if executor.agent_id:
            status["agent_id"] = {"value": executor.agent_id}
        executor.unacked.add(update_uuid)
        self.node.route(executor.pid, self.agent, StatusUpdate(
            framework_id=executor.framework_id, status=status, uuid=update_uuid, agent_id=executor.agent_id,
            executor_id=executor.executor_id, timestamp=status["timestamp"]))

    def _exit(self, name: str, returncode: int) -> None:
        executor = self._executors.pop(name, None)
        if executor is None:
            return
        for timers in executor.live.values():
            for timer in timers:
                timer.cancel()
        self.node.unregister(executor.pid)
        self.log.info("emulated_executor_exited", executor_id=executor.executor_id, returncode=returncode)
        executor.on_exit(returncode)



def _name(container_id: str) -> str:
    """The process name of the emulated executor of a container."""
    return f"executor({container_id})"
