"""Deployments (pure): the plan of steps a change to an app becomes, and the rolling upgrade rule.

Creating an app is ``[[StartApplication], [ScaleApplication]]``, scaling ``[[ScaleApplication]]``,
a new configuration or a restart ``[[RestartApplication]]`` (a rolling upgrade), deleting
``[[StopApplication]]``, as Marathon names its actions. ``rolling_step`` says, from the tasks an
app has now, how many old tasks may be killed and how many new ones started without going under
``minimumHealthCapacity`` x instances healthy or over (1 + ``maximumOverCapacity``) x instances.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Deployment", "RollingStep", "plan_json", "plan_steps", "rolling_step"]


def plan_steps(original: Mapping[str, Any] | None, target: Mapping[str, Any] | None,
               restart: bool = False) -> list[list[str]]:
    """Marathon's steps (each a list of action names) from ``original`` to ``target``."""
    if target is None:
        return [["StopApplication"]]
    if original is None:
        return [["StartApplication"], ["ScaleApplication"]]
    if restart:
        return [["RestartApplication"]]
    return [["ScaleApplication"]]


@dataclass
class Deployment:
    """One deployment of one app: ``original`` (None: a new app) to ``target`` (None: deleted)."""

    id: str
    version: str
    app_id: str
    original: dict[str, Any] | None
    target: dict[str, Any] | None
    steps: list[list[str]]
    current_step: int = 1  # 1-based, as Marathon counts (the step being run)
    started_at: float = 0.0
    done: bool = field(default=False)

    @property
    def action(self) -> str:
        return self.steps[min(self.current_step, len(self.steps)) - 1][0]

    def advance(self) -> bool:
        """The current step is complete: move on; True once the last one is."""
        if self.current_step >= len(self.steps):
            self.done = True
        else:
            self.current_step += 1
        return self.done

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "app_id": self.app_id, "original": self.original,
                "target": self.target, "steps": self.steps, "current_step": self.current_step,
                "started_at": self.started_at}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Deployment:
        return cls(str(record["id"]), str(record["version"]), str(record["app_id"]), record.get("original"),
                   record.get("target"), [list(s) for s in record["steps"]], int(record["current_step"]),
                   float(record.get("started_at", 0.0)))


@dataclass(frozen=True)
class RollingStep:
    kill_old: int  # old tasks to kill now (unhealthy ones first)
    start_new: int  # new tasks to start now


def rolling_step(instances: int, strategy: Mapping[str, Any], *, old_alive: int, old_healthy: int,
                 new_alive: int, new_healthy: int) -> RollingStep:
    """One move of a rolling upgrade to ``instances`` new tasks.

    Old tasks that are not healthy may always go; healthy ones only while old and new healthy
    tasks together stay at ``ceil(instances x minimumHealthCapacity)`` or more. New ones start
    while old and new together stay within ``floor(instances x (1 + maximumOverCapacity))``
    (one over, as Marathon does, when the two bounds would leave no room to move).
    """
    min_healthy = math.ceil(instances * float(strategy["minimumHealthCapacity"]) - 1e-9)
    max_capacity = math.floor(instances * (1.0 + float(strategy["maximumOverCapacity"])) + 1e-9)
    if max_capacity <= min_healthy:
        max_capacity = min_healthy + 1
    unhealthy_old = old_alive - old_healthy
    spare_healthy = max(0, old_healthy + new_healthy - min_healthy)
    kill = unhealthy_old + min(old_healthy, spare_healthy)
    if new_healthy >= instances:
        kill = old_alive
    room = max_capacity - (old_alive - kill) - new_alive
    start = max(0, min(instances - new_alive, room))
    return RollingStep(kill, start)


def plan_json(d: Deployment) -> dict[str, Any]:
    """The deployment's plan as Marathon's events carry it (``deployment_info``, ...)."""
    return {"id": d.id, "version": d.version,
            "steps": [{"actions": [{"action": a, "app": d.app_id} for a in step]} for step in d.steps],
            "original": {"id": "/", "apps": [d.original] if d.original else []},
            "target": {"id": "/", "apps": [d.target] if d.target else []}}
