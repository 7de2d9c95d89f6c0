"""The agent's task table (pure): frameworks, executors, their containers and tasks.

Resources of a container are its executor's own plus those of its tasks that
are not terminal; a terminal update frees the task's share at once (the
update itself stays in the status update manager until acknowledged).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from actors.agent.status_updates import is_terminal
from actors.resources import Resources
from actors.security.objects import executor_user

__all__ = [
    "COMMAND_EXECUTOR_RESOURCES", "MAX_ENDED_SANDBOXES", "ExecutorEntry", "FrameworkEntry", "TaskEntry", "TaskTable",
    "TaskTableError", "command_executor_info", "id_value",
]

COMMAND_EXECUTOR_RESOURCES = "cpus:0.1;mem:32"
MAX_ENDED_SANDBOXES = 10_000  # ended executors whose sandbox user is remembered (for /files' ACL)

# executor states (RECOVERING: recovered from the checkpoint, waiting for it to re-register)
LAUNCHING, RECOVERING, REGISTERED, TERMINATING = "LAUNCHING", "RECOVERING", "REGISTERED", "TERMINATING"


class TaskTableError(ValueError):
    """An operation the table refuses (unknown executor, task id in use...); names the ids."""


def id_value(value: Any) -> str:
    """``{"value": "x"}`` or ``"x"`` -> ``"x"``."""
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) else ""


def command_executor_info(framework_id: str, task: dict[str, Any]) -> dict[str, Any]:
    """The ExecutorInfo the agent makes for a command task (Mesos: executor id = task id)."""
    task_id = id_value(task.get("task_id"))
    command = task.get("command") or {}
    executor_command: dict[str, Any] = {
        "value": sys.executable, "shell": False, "arguments": [sys.executable, "-m", "actors.executor.command"]}
    if command.get("user"):  # the executor runs as the task's user (Mesos does the same)
        executor_command["user"] = command["user"]
    return {
        "executor_id": {"value": task_id},
        "framework_id": {"value": framework_id},
        "name": f"Command Executor (Task: {task_id}) (Command: sh -c '{str(command.get('value', ''))[:64]}')",
        "command": executor_command,
        "resources": Resources.parse(COMMAND_EXECUTOR_RESOURCES).to_dicts(),
        "source": task_id,
    }


@dataclass
class TaskEntry:
    task: dict[str, Any]
    framework_id: str
    executor_id: str
    resources: Resources
    state: str = "TASK_STAGING"

    @property
    def task_id(self) -> str:
        return id_value(self.task.get("task_id"))


@dataclass
class ExecutorEntry:
    framework_id: str
    executor_id: str
    container_id: str
    info: dict[str, Any]
    resources: Resources
    command_executor: bool
    directory: str = ""
    state: str = LAUNCHING
    pid: str = ""                      # the executor's process id (name@host:port) once registered
    os_pid: int | None = None
    queued: list[dict[str, Any]] = field(default_factory=list)   # tasks waiting for registration
    tasks: dict[str, TaskEntry] = field(default_factory=dict)     # launched, not yet completed
    limitation: Any = None             # isolation.Limitation recorded before cleanup
    reason: str = ""                   # why the agent destroyed it (e.g. registration timeout)
    message: str = ""
    termination_state: str = "TASK_FAILED"  # what its live tasks become when it ends
    timer: Any = None                  # registration or shutdown timer
    token: str = ""                    # MESOS_EXECUTOR_AUTHENTICATION_TOKEN: the executor registers with it
    curve_key: str = ""                # with CURVE: the public key of the pair the agent gave it (Z85)

    @property
    def key(self) -> tuple[str, str]:
        return (self.framework_id, self.executor_id)


@dataclass
class FrameworkEntry:
    framework_id: str
    info: dict[str, Any]
    pid: str


class TaskTable:
    """Frameworks, executors and tasks of one agent."""

    def __init__(self) -> None:
        self.frameworks: dict[str, FrameworkEntry] = {}
        self.executors: dict[tuple[str, str], ExecutorEntry] = {}
        self._by_container: dict[str, tuple[str, str]] = {}
        self._ended_users: dict[tuple[str, str], str] = {}  # ended executors' sandbox users, oldest first

    # --- frameworks ---------------------------------------------------------

    def add_framework(self, framework_id: str, info: dict[str, Any], pid: str) -> FrameworkEntry:
        entry = self.frameworks.get(framework_id)
        if entry is None:
            entry = self.frameworks[framework_id] = FrameworkEntry(framework_id, info, pid)
        else:
            entry.info, entry.pid = info or entry.info, pid or entry.pid
        return entry

    def framework_executors(self, framework_id: str) -> list[ExecutorEntry]:
        return [e for e in self.executors.values() if e.framework_id == framework_id]

    # --- launching -------------------------------------------------------------

    def find_task(self, framework_id: str, task_id: str) -> TaskEntry | None:
        for executor in self.framework_executors(framework_id):
            if task_id in executor.tasks:
                return executor.tasks[task_id]
        return None

    def unknown(self, framework_id: str, task_ids: list[str]) -> list[tuple[str, str]]:
        """The master's reconciliation: (task id, state to report) for each of ``task_ids`` not here:
        TASK_DROPPED for a partition-aware framework, else TASK_LOST (Mesos' reconcileTasks)."""
        entry = self.frameworks.get(framework_id)
        caps = (entry.info.get("capabilities") or []) if entry is not None else []
        aware = any(isinstance(c, dict) and c.get("type") == "PARTITION_AWARE" for c in caps)
        return [(tid, "TASK_DROPPED" if aware else "TASK_LOST") for tid in dict.fromkeys(task_ids)
                if self.find_task(framework_id, tid) is None]

    def executor_of_task(self, framework_id: str, task_id: str) -> ExecutorEntry | None:
        for executor in self.framework_executors(framework_id):
            if task_id in executor.tasks:
                return executor
        return None

    def add_task(self, framework_id: str, task: dict[str, Any], container_id: str) -> tuple[ExecutorEntry, bool]:
        """Place ``task`` in its executor (the framework's running one with that id, or a
        new one with ``container_id``). Returns (executor, created)."""
        task_id = id_value(task.get("task_id"))
        if not task_id:
            raise TaskTableError(f"task has no task_id: {task.get('task_id')!r}")
        if self.find_task(framework_id, task_id) is not None:
            raise TaskTableError(f"task {task_id!r} of framework {framework_id!r} is already on this agent")
        try:
            resources = Resources.from_dicts(task.get("resources") or [])
        except ValueError as e:
            raise TaskTableError(f"task {task_id!r}: {e}") from None
        if task.get("executor"):
            info = dict(task["executor"])
            command = False
        elif task.get("command"):
            info = command_executor_info(framework_id, task)
            command = True
        else:
            raise TaskTableError(f"task {task_id!r} has neither command nor executor")
        executor_id = id_value(info.get("executor_id"))
        if not executor_id:
            raise TaskTableError(f"task {task_id!r}: executor has no executor_id")
        key = (framework_id, executor_id)
        executor = self.executors.get(key)
        created = executor is None or executor.state == TERMINATING
        if executor is not None and executor.state == TERMINATING:
            raise TaskTableError(f"executor {executor_id!r} of framework {framework_id!r} is terminating")
        if executor is None:
            try:
                own = Resources.from_dicts(info.get("resources") or [])
            except ValueError as e:
                raise TaskTableError(f"executor {executor_id!r}: {e}") from None
            executor = ExecutorEntry(framework_id, executor_id, container_id, info, own, command)
            self.executors[key] = executor
            self._by_container[container_id] = key
        executor.tasks[task_id] = TaskEntry(task, framework_id, executor_id, resources)
        if executor.state != REGISTERED:
            executor.queued.append(task)
        return executor, created

    def restore(self, framework_id: str, info: dict[str, Any], container_id: str, command_executor: bool,
                tasks: list[tuple[dict[str, Any], str]], registered: bool) -> ExecutorEntry:
        """An executor recovered from the checkpoint (state RECOVERING) with its ``tasks``
        as (TaskInfo, latest state); ``registered``: it had registered before the restart.
        TaskTableError when its ids or resources are bad."""
        executor_id = id_value(info.get("executor_id"))
        key = (framework_id, executor_id)
        if not executor_id or key in self.executors:
            raise TaskTableError(f"recovered executor {executor_id!r} of framework {framework_id!r} is bad or "
                                 "already known")
        try:
            own = Resources.from_dicts(info.get("resources") or [])
            entries = {id_value(t.get("task_id")): TaskEntry(t, framework_id, executor_id,
                                                             Resources.from_dicts(t.get("resources") or []), state)
                       for t, state in tasks}
        except ValueError as e:
            raise TaskTableError(f"recovered executor {executor_id!r}: {e}") from None
        executor = ExecutorEntry(framework_id, executor_id, container_id, info, own, command_executor,
                                 state=RECOVERING, tasks=entries)
        if not registered:  # it never had them: they are given when it registers
            executor.queued = [t for t, state in tasks if state == "TASK_STAGING"]
        self.executors[key] = executor
        self._by_container[container_id] = key
        return executor

    def registered(self, framework_id: str, executor_id: str, pid: str) -> tuple[ExecutorEntry, list[dict[str, Any]]]:
        """The executor registered from ``pid``; returns it and its queued tasks (now cleared).
        A recovered executor that had not registered before the restart may register now."""
        executor = self.executors.get((framework_id, executor_id))
        if executor is None or not (executor.state == LAUNCHING or executor.state == RECOVERING and not executor.pid):
            raise TaskTableError(f"no launching executor {executor_id!r} of framework {framework_id!r}")
        executor.state, executor.pid = REGISTERED, pid
        queued, executor.queued = executor.queued, []
        return executor, queued

    # --- states ---------------------------------------------------------------

    def set_state(self, framework_id: str, task_id: str, state: str) -> TaskEntry | None:
        """Record a task's latest state; a terminal one frees its resources. None if unknown."""
        task = self.find_task(framework_id, task_id)
        if task is None:
            return None
        if not is_terminal(task.state):
            task.state = state
        return task

    def complete(self, framework_id: str, task_id: str) -> None:
        """The terminal update was acknowledged: forget the task."""
        executor = self.executor_of_task(framework_id, task_id)
        if executor is not None and is_terminal(executor.tasks[task_id].state):
            del executor.tasks[task_id]

    def dequeue(self, framework_id: str, task_id: str) -> bool:
        """Remove a task not yet given to its executor (killed during launch)."""
        executor = self.executor_of_task(framework_id, task_id)
        if executor is None:
            return False
        before = len(executor.queued)
        executor.queued = [t for t in executor.queued if id_value(t.get("task_id")) != task_id]
        return len(executor.queued) < before

    def live_tasks(self, executor: ExecutorEntry) -> list[TaskEntry]:
        return [t for t in executor.tasks.values() if not is_terminal(t.state)]

    # --- executors -----------------------------------------------------------

    def by_container(self, container_id: str) -> ExecutorEntry | None:
        key = self._by_container.get(container_id)
        return self.executors.get(key) if key is not None else None

    def by_pid(self, pid: str) -> ExecutorEntry | None:
        for executor in self.executors.values():
            if executor.pid == pid:
                return executor
        return None

    def sandbox_user(self, framework_id: str, executor_id: str) -> str | None:
        """Whose sandbox the executor's is (access_sandboxes): its command's user, else its
        framework's; ended executors' are remembered (the last MAX_ENDED_SANDBOXES); None if unknown."""
        key = (framework_id, executor_id)
        executor = self.executors.get(key)
        if executor is None:
            return self._ended_users.get(key)
        fw = self.frameworks.get(framework_id)
        return executor_user(executor.info, str(fw.info.get("user") or "") if fw is not None else "")

    def remove_executor(self, framework_id: str, executor_id: str) -> ExecutorEntry | None:
        user = self.sandbox_user(framework_id, executor_id)
        executor = self.executors.pop((framework_id, executor_id), None)
        if executor is not None:
            self._ended_users.pop(executor.key, None)
            self._ended_users[executor.key] = user or ""
            while len(self._ended_users) > MAX_ENDED_SANDBOXES:
                del self._ended_users[next(iter(self._ended_users))]
            self._by_container.pop(executor.container_id, None)
            if not self.framework_executors(framework_id):
                self.frameworks.pop(framework_id, None)
        return executor

    def container_resources(self, executor: ExecutorEntry) -> Resources:
        """The executor's own resources plus those of its non-terminal tasks."""
        total = executor.resources
        for task in executor.tasks.values():
            if not is_terminal(task.state):
                total = total + task.resources
        return total

    def used(self) -> Resources:
        total = Resources()
        for executor in self.executors.values():
            total = total + self.container_resources(executor)
        return total

    # --- re-registration ---------------------------------------------------------

    def snapshot(self, agent_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(tasks, executors, frameworks) as ReregisterAgent carries them (v1 Task dicts)."""
        tasks = [{
            "name": t.task.get("name", ""), "task_id": {"value": t.task_id},
            "framework_id": {"value": t.framework_id}, "executor_id": {"value": t.executor_id},
            "agent_id": {"value": agent_id}, "state": t.state, "resources": t.task.get("resources") or [],
        } for e in self.executors.values() for t in e.tasks.values()]
        executors = [dict(e.info, framework_id={"value": e.framework_id}) for e in self.executors.values()
                     if not e.command_executor]
        frameworks = [dict(f.info, id={"value": f.framework_id}, pid=f.pid) for f in self.frameworks.values()]
        return tasks, executors, frameworks
