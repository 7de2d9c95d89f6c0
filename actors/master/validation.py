"""Mesos' validation of launches: ids, task infos and their resources (pure)."""

from __future__ import annotations

import hashlib
from typing import Any

from actors.executor.health import parse_health_check
from actors.master.model import ExecutorRecord, id_value
from actors.resources import EMPTY, Resources, ResourcesError

__all__ = ["TaskInvalid", "TaskUnauthorized", "check_executor", "executor_record", "task_resources", "validate_id", "validate_task"]

Dict = dict[str, Any]


class TaskInvalid(ValueError):
    """A task that fails validation; the message is what the framework is told."""


class TaskUnauthorized(TaskInvalid):
    """A task the run_tasks ACL refuses (TASK_ERROR with REASON_TASK_UNAUTHORIZED)."""


def validate_id(kind: str, value: str) -> None:
    """Mesos' common ID rules: non-empty, at most 255 chars, not . or .., no / \\ or control chars."""
    if not value:
        raise TaskInvalid(f"{kind} must not be empty")
    if len(value) > 255:
        raise TaskInvalid(f"{kind} {value[:20]!r}... is longer than 255 characters")
    if value in (".", ".."):
        raise TaskInvalid(f"{kind} {value!r} is not allowed")
    bad = next((c for c in value if c in "/\\" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise TaskInvalid(f"{kind} {value!r} contains invalid character {bad!r}")


def _parse(what: str, items: Any) -> Resources:
    if items is None:
        return EMPTY
    if not isinstance(items, list):
        raise TaskInvalid(f"{what} resources must be a list, got {items!r}")
    try:
        return Resources.from_dicts(items)
    except ResourcesError as e:
        raise TaskInvalid(f"{what} uses invalid resources: {e}") from None


def task_resources(task: Dict) -> tuple[Resources, Resources, str]:
    """(task resources, executor resources, executor id) of a well-formed task dict."""
    executor = task.get("executor")
    if isinstance(executor, dict):
        return _parse("Task", task.get("resources")), _parse("Executor", executor.get("resources")), id_value(
            executor.get("executor_id"))
    return _parse("Task", task.get("resources")), EMPTY, ""


def validate_task(task: Any, agent_id: str, known_task_ids: set[str]) -> tuple[str, Resources, Resources, str]:
    """Check one TaskInfo dict against Mesos' rules (not yet against the offers).

    Returns (task id, task resources, executor resources, executor id); raises
    TaskInvalid with Mesos' wording naming the problem.
    """
    if not isinstance(task, dict):
        raise TaskInvalid(f"Task must be a dict, got {type(task).__name__}")
    task_id = id_value(task.get("task_id"))
    validate_id("Task ID", task_id)
    if task_id in known_task_ids:
        raise TaskInvalid(f"Task has duplicate ID: {task_id}")
    task_agent = id_value(task.get("agent_id")) or id_value(task.get("slave_id"))
    if task_agent and task_agent != agent_id:
        raise TaskInvalid(f"Task uses invalid agent: {task_agent} (offers are of agent {agent_id})")
    has_command = isinstance(task.get("command"), dict)
    has_executor = isinstance(task.get("executor"), dict)
    if has_command == has_executor:
        raise TaskInvalid("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present")
    executor_id = ""
    if has_executor:
        executor_id = id_value(task["executor"].get("executor_id"))
        validate_id("Executor ID", executor_id)
        command = task["executor"].get("command")
        if not isinstance(command, dict):
            raise TaskInvalid(f"Executor {executor_id} has no CommandInfo")
    else:
        command = task["command"]
    shell = command.get("shell", True)
    if shell is not False and not isinstance(command.get("value"), str):
        raise TaskInvalid(f"Task {task_id}: command has no 'value' to run in a shell")
    if "health_check" in task:
        try:
            parse_health_check(task["health_check"])
        except ValueError as e:
            raise TaskInvalid(f"Task {task_id}: invalid health check: {e}") from None
    res, exec_res, _ = task_resources(task)
    if res.is_empty():
        raise TaskInvalid(f"Task {task_id} uses no resources")
    return task_id, res, exec_res, executor_id


def executor_record(executor: Dict, resources: Resources, role: str) -> ExecutorRecord:
    """What the master keeps of an ExecutorInfo to compare later ones with: the info
    without ``framework_id`` (the master's to set), ``data`` as a digest (the master
    keeps no payloads), resources parsed (labels such as allocation_info aside)."""
    signature = {k: v for k, v in executor.items() if k not in ("framework_id", "data", "resources")}
    data = executor.get("data")
    if data is not None:
        raw = data if isinstance(data, bytes) else str(data).encode()
        signature["data"] = hashlib.sha256(raw).hexdigest()
    signature["resources"] = resources
    return ExecutorRecord(signature, role)


def check_executor(known: ExecutorRecord | None, executor: Dict, resources: Resources) -> None:
    """A task for an executor id already in use on the agent must carry the same
    ExecutorInfo (Mesos); TaskInvalid otherwise. ``known`` None: nothing to compare."""
    if known is None:
        return
    given = executor_record(executor, resources, known.role).signature
    if given != known.signature:
        diff = sorted(k for k in {*given, *known.signature} if given.get(k) != known.signature.get(k))
        raise TaskInvalid(f"ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID "
                          f"{id_value(executor.get('executor_id'))}: {', '.join(diff)} differ")
