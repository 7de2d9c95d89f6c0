"""What Marathon knows of each task it launched (pure), and the times it prints (ISO 8601)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from frameworks.marathon.constraints import Placement

__all__ = ["ALIVE_STATES", "TERMINAL_STATES", "TaskRecord", "TaskTable", "iso_time", "task_id_for"]

TERMINAL_STATES = frozenset({
    "TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE",
    "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN",
})
ALIVE_STATES = frozenset({"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_UNREACHABLE"})


def iso_time(now: float) -> str:
    """``now`` (seconds since the epoch) as Marathon prints times: ``2014-09-12T23:28:21.737Z``."""
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(now * 1000) % 1000:03d}Z"


def task_id_for(app_id: str, unique: str) -> str:
    """Marathon's task ids: the app id with ``_`` for ``/``, a dot, then a unique part."""
    return app_id.strip("/").replace("/", "_") + "." + unique


@dataclass
class TaskRecord:
    """One task of an app, as persisted (``to_record``) and answered by ``/v2/tasks``."""

    id: str
    app_id: str
    version: str  # the app version it was launched with
    config_version: str  # the app's lastConfigChangeAt then: tasks of an older one are replaced
    agent_id: str
    host: str
    attributes: dict[str, str] = field(default_factory=dict)
    host_ports: list[int] = field(default_factory=list)
    service_ports: list[int] = field(default_factory=list)
    state: str = "TASK_STAGING"
    staged_at: float = 0.0
    started_at: float | None = None
    healthy: bool | None = None  # None: no health result yet
    killing: bool = False  # Marathon asked for the kill (not a failure)
    last_health_change: float | None = None

    @property
    def alive(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def placement(self) -> Placement:
        return self.host, self.attributes

    def ready(self, has_checks: bool) -> bool:
        """Running, and healthy if the app has health checks."""
        return self.state == "TASK_RUNNING" and (self.healthy is True or not has_checks)

    def to_record(self) -> dict[str, Any]:
        """The fields, for the store (shallow: values shared with the task; dataclasses.asdict's
        deep copy cost more than the rest of an offer round)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TaskRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in record.items() if k in known})


class TaskTable(dict[str, TaskRecord]):
    """The tasks by id, and by app (``of_app``: no scan of every task per status update).
    Read it as a dict; change it through ``add`` and ``drop`` only (they keep the index)."""

    def __init__(self) -> None:
        super().__init__()
        self._of_app: dict[str, dict[str, TaskRecord]] = {}

    def add(self, task: TaskRecord) -> None:
        self[task.id] = task
        self._of_app.setdefault(task.app_id, {})[task.id] = task

    def drop(self, task: TaskRecord) -> None:
        del self[task.id]
        of_app = self._of_app.get(task.app_id, {})
        of_app.pop(task.id, None)
        if not of_app:
            self._of_app.pop(task.app_id, None)

    def of_app(self, app_id: str) -> list[TaskRecord]:
        return list(self._of_app.get(app_id, {}).values())
