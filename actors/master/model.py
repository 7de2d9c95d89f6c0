"""The master's records: frameworks, agents, tasks, offers, and the effects it emits.

Plain mutable objects owned by :class:`actors.master.core.MasterCore`; no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from actors.master.compact import NO_TASK_INFO
from actors.master.config import MasterConfig
from actors.master.task_status import TaskStatusRecord, compact_status
from actors.reservations import DynamicReservations
from actors.resources import EMPTY, Resources
from actors.volumes import Volume
from transport.schema import Message

__all__ = [
    "TERMINAL_STATES",
    "Abort",
    "task_user",
    "Agent",
    "Effect",
    "ExecutorRecord",
    "Framework",
    "LinkTo",
    "Offer",
    "Send",
    "Task",
    "ToAllocator",
    "WriteRegistry",
    "allocation_role",
    "flat_resources",
    "framework_roles",
    "id_value",
    "is_partition_aware",
    "role_usage",
]

Dict = dict[str, Any]

TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
    "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
})


@dataclass(frozen=True)
class Send:
    """Effect: send ``message`` to the process ``to`` (text pid)."""

    to: str
    message: Message


@dataclass(frozen=True)
class LinkTo:
    """Effect: link to ``pid`` so that its exit is reported to the core."""

    pid: str


@dataclass(frozen=True)
class ToAllocator:
    """Effect: call ``AllocatorCore.<method>(**kwargs)`` (through the allocator actor)."""

    method: str
    kwargs: Dict = field(default_factory=dict)


@dataclass(frozen=True)
class WriteRegistry:
    """Effect: store ``data`` (the encoded registry) durably, after every earlier write; then the
    shell calls ``core.registry_written(error)`` ("" when it succeeded)."""

    data: bytes


@dataclass(frozen=True)
class Abort:
    """Effect: the master cannot go on (its registry cannot be written): stop leading, as Mesos aborts."""

    reason: str


Effect = Send | LinkTo | ToAllocator | WriteRegistry | Abort


def id_value(v: Any) -> str:
    """``{"value": "x"}`` or ``"x"`` -> ``"x"``; anything else -> ``""``."""
    if isinstance(v, dict):
        v = v.get("value")
    return v if isinstance(v, str) else ""


def framework_roles(info: Dict) -> list[str]:
    roles = info.get("roles")
    if isinstance(roles, list) and roles:
        return [r for r in roles if isinstance(r, str)]
    role = info.get("role")
    return [role] if isinstance(role, str) and role else ["*"]


def allocation_role(task: Dict) -> str:
    """The role a TaskInfo's resources are allocated in (their ``allocation_info.role``,
    as the master labels them at launch); "" if they name none."""
    items = task.get("resources")
    for d in items if isinstance(items, list) else []:
        info = d.get("allocation_info") if isinstance(d, dict) else None
        role = info.get("role") if isinstance(info, dict) else None
        if isinstance(role, str) and role:
            return role
    return ""


def is_partition_aware(info: Dict) -> bool:
    caps = info.get("capabilities") or []
    return any(isinstance(c, dict) and c.get("type") == "PARTITION_AWARE" for c in caps)


def task_user(info: Any) -> str:
    """The user a TaskInfo's command (or its executor's) names, "" if none."""
    if not isinstance(info, Mapping):
        return ""
    for holder in (info, info.get("executor")):
        command = holder.get("command") if isinstance(holder, Mapping) else None
        user = command.get("user") if isinstance(command, dict) else None
        if isinstance(user, str) and user:
            return user
    return ""


@dataclass(slots=True)
class Task:
    task_id: str
    framework_id: str
    agent_id: str
    name: str
    resources: Resources
    state: str = "TASK_STAGING"
    executor_id: str = ""
    # Its statuses, oldest first: a tuple (a list was 32 bytes more for the two of a running task),
    # replaced as a whole by ``record_status`` and by trimming.
    statuses: tuple[TaskStatusRecord, ...] = ()
    # What is kept of its TaskInfo (:func:`actors.master.compact.compact_task_info`), read-only.
    info: Mapping[str, Any] = field(default_factory=lambda: NO_TASK_INFO)
    # The uuid of the terminal update until the framework acknowledges it: till then
    # reconciliation still answers the task's state, as Mesos keeps such a task.
    unacknowledged: bytes = b""
    # Ended as a resent update's latest_state said, its own terminal update not yet seen.
    awaiting_end: bool = False
    # The role its resources are allocated in ("" when not known: a task an agent reported).
    role: str = ""

    @property
    def user(self) -> str:
        """The user its command runs as when the TaskInfo names one ("" : the framework's user)."""
        return task_user(self.info)

    def record_status(self, status: Dict) -> None:
        """Keep ``status`` as a compact record (:mod:`actors.master.task_status`): its ids equal to the
        task's own or the previous status' are held as those strings (a task holds each id once)."""
        ids: tuple[str, ...] = (self.task_id, self.agent_id, self.executor_id)
        if self.statuses:
            last = self.statuses[-1]
            ids += tuple(i for i in (last.id_of("agent_id"), last.id_of("executor_id")) if i)
        self.statuses = (*self.statuses, compact_status(status, ids))

    def to_dict(self) -> Dict:
        out = {
            "id": self.task_id,
            "name": self.name,
            "framework_id": self.framework_id,
            "executor_id": self.executor_id,
            "slave_id": self.agent_id,
            "state": self.state,
            "resources": flat_resources(self.resources),
            "statuses": [
                {k: v for k, v in s.items() if k in ("state", "timestamp", "reason", "message", "source", "healthy")}
                for s in self.statuses
            ],
        }
        if self.user:
            out["user"] = self.user
        return out


class ExecutorRecord(NamedTuple):
    """An executor in use on an agent: its ExecutorInfo as compared by validation, its allocation role."""

    signature: Dict
    role: str


@dataclass(slots=True)
class Offer:
    offer_id: str
    framework_id: str
    agent_id: str
    resources: Resources
    role: str
    expires: float | None = None


@dataclass(slots=True)
class Framework:
    framework_id: str
    info: Dict
    pid: str
    registered_time: float
    connected: bool = True
    active: bool = True
    failover_deadline: float | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    offers: set[str] = field(default_factory=set)
    completed: deque[Task] = field(default_factory=deque)
    unreachable: deque[Task] = field(default_factory=deque)
    recovered: bool = False
    unregistered_time: float | None = None
    last_offer: tuple[float, str, str] | None = None  # (now, agent id, offer id) of the newest offer made

    @property
    def roles(self) -> list[str]:
        return framework_roles(self.info)

    @property
    def partition_aware(self) -> bool:
        return is_partition_aware(self.info)

    def known_tasks(self) -> list[Task]:
        """What reconciliation answers for: active tasks, and ended ones whose end is not yet acknowledged."""
        return [*self.tasks.values(), *(t for t in self.completed if t.unacknowledged or t.awaiting_end)]

    def add_completed(self, task: Task, config: MasterConfig) -> None:
        """Keep an ended task for the state (and reconciliation): a TASK_UNREACHABLE one among
        the newest ``--max_unreachable_tasks_per_framework``, others among the newest
        ``--max_completed_tasks_per_framework``; older ones are forgotten."""
        if task.state == "TASK_UNREACHABLE":
            kept, limit = self.unreachable, config.max_unreachable_tasks_per_framework
        else:
            kept, limit = self.completed, config.max_completed_tasks_per_framework
        kept.append(task)
        while len(kept) > limit:
            kept.popleft()


@dataclass(slots=True)
class Agent:
    agent_id: str
    info: Dict
    pid: str
    total: Resources
    registered_time: float
    connected: bool = True
    tasks: dict[tuple[str, str], Task] = field(default_factory=dict)
    executors: dict[tuple[str, str], Resources] = field(default_factory=dict)
    executor_infos: dict[tuple[str, str], ExecutorRecord] = field(default_factory=dict)  # same keys, or fewer
    offers: dict[str, None] = field(default_factory=dict)  # its offers' ids, in order (a set costs 3x)
    reservations: DynamicReservations = field(default_factory=DynamicReservations)  # dynamic ones, with stacks
    volumes: dict[str, Volume] = field(default_factory=dict)  # persistent volumes by persistence id
    deactivated: bool = False  # offered nothing (DEACTIVATE_AGENT, DRAIN_AGENT)
    drain_info: Dict | None = None  # Mesos' DrainInfo: {"state": DRAINING|DRAINED, "config": {...}}
    next_ping: float = 0.0
    pong_pending: bool = False
    missed_pings: int = 0
    # Kills asked for while it was disconnected, by (framework id, task id) -> kill_policy:
    # re-sent when it re-registers (Mesos' ``Slave::killedTasks``); only keys of its tasks.
    pending_kills: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        h = self.info.get("hostname")
        return h if isinstance(h, str) and h else self.pid.rpartition("@")[2].rpartition(":")[0]

    def used(self) -> Resources:
        total = EMPTY
        for task in self.tasks.values():
            if task.state not in TERMINAL_STATES:
                total = total + task.resources
        for res in self.executors.values():
            total = total + res
        return total

    def used_by(self) -> dict[str, dict[str, Resources]]:
        """framework id -> role -> what its live tasks and executors hold here, by the
        role they are allocated in ("": not known, for the allocator to attribute)."""
        out: dict[str, dict[str, Resources]] = {}

        def add(fid: str, role: str, res: Resources) -> None:
            by_role = out.setdefault(fid, {})
            by_role[role] = by_role.get(role, EMPTY) + res

        for task in self.tasks.values():
            if task.state not in TERMINAL_STATES:
                add(task.framework_id, task.role, task.resources)
        for key, res in self.executors.items():
            record = self.executor_infos.get(key)
            add(key[0], record.role if record is not None else "", res)
        return out

    def drop_executors(self, framework_id: str, executor_id: str | None = None) -> Resources:
        """Forget the framework's executor ``executor_id`` (all of them if None); what they held."""
        keys = [(framework_id, executor_id)] if executor_id is not None else [
            k for k in self.executors if k[0] == framework_id]
        held = EMPTY
        for key in keys:
            held = held + self.executors.pop(key, EMPTY)
            self.executor_infos.pop(key, None)
        return held


def flat_resources(res: Resources) -> Dict:
    """The /master/state shape: ``{"cpus": 1.0, "mem": .., "disk": .., "ports": "[31000-31000]"}``."""
    out: Dict = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
    quantities = res.quantities()
    out.update(quantities)
    for name in sorted(res.names() - quantities.keys()):  # a name is either scalar or ranges
        ranges = res.ranges(name)
        if ranges:
            out[name] = "[" + ",".join(f"{b}-{e}" for b, e in ranges) + "]"
    return out


def role_usage(frameworks: Iterable[Framework]) -> tuple[dict[str, list[str]], dict[str, Resources]]:
    """Per role: the ids of the frameworks in it, and the resources of their live tasks."""
    members: dict[str, list[str]] = {}
    allocated: dict[str, Resources] = {}
    for fw in frameworks:
        for role in fw.roles:
            members.setdefault(role, []).append(fw.framework_id)
        for task in fw.tasks.values():
            if task.state not in TERMINAL_STATES:
                role = task.role or fw.roles[0]
                allocated[role] = allocated.get(role, EMPTY) + task.resources
    return members, allocated
