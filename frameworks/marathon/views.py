"""Marathon's JSON for apps, tasks, deployments, groups and the queue (pure): Marathon's field
names and no others (typed clients such as marathon-python fail on fields they do not know)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from frameworks.marathon.core import MarathonCore
from frameworks.marathon.deployments import Deployment
from frameworks.marathon.instances import TaskRecord, iso_time

__all__ = ["app_json", "definition_json", "deployment_json", "group_json", "queue_json", "task_json"]

_STAGED = ("TASK_STAGING", "TASK_STARTING")


def task_json(task: TaskRecord, has_checks: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.id, "appId": task.app_id, "host": task.host, "ports": list(task.host_ports),
        "servicePorts": list(task.service_ports), "slaveId": task.agent_id, "stagedAt": iso_time(task.staged_at),
        "startedAt": iso_time(task.started_at) if task.started_at is not None else None, "version": task.version,
        "state": task.state, "ipAddresses": [],
    }
    if has_checks and task.healthy is not None:
        when = iso_time(task.last_health_change) if task.last_health_change is not None else None
        out["healthCheckResults"] = [{
            "alive": task.healthy, "consecutiveFailures": 0 if task.healthy else 1, "taskId": task.id,
            "instanceId": task.id, "firstSuccess": when if task.healthy else None,
            "lastSuccess": when if task.healthy else None, "lastFailure": None if task.healthy else when,
            "lastFailureCause": None if task.healthy else "the task's health check failed",
        }]
    return out


def definition_json(app: Mapping[str, Any]) -> dict[str, Any]:
    """An app's definition (as ``/v2/apps/{appId}/versions/{version}`` answers it)."""
    return {**app, "ports": [int(d["port"]) for d in app["portDefinitions"]]}


def app_json(core: MarathonCore, app: Mapping[str, Any], embed: Collection[str] = ()) -> dict[str, Any]:
    """An app with its counts and deployments, and its tasks / last failure when embedded."""
    out = definition_json(app)
    checks = bool(app["healthChecks"])
    live = core.alive(app["id"])
    out["tasksStaged"] = sum(t.state in _STAGED for t in live)
    out["tasksRunning"] = sum(t.state == "TASK_RUNNING" for t in live)
    out["tasksHealthy"] = sum(t.state == "TASK_RUNNING" and t.healthy is True for t in live) if checks else 0
    out["tasksUnhealthy"] = sum(t.state == "TASK_RUNNING" and t.healthy is False for t in live) if checks else 0
    out["deployments"] = [{"id": d.id} for d in core.deployments_of(app["id"])]
    if "tasks" in embed:
        out["tasks"] = [task_json(t, checks) for t in sorted(live, key=lambda t: t.staged_at)]
    if "lastTaskFailure" in embed and app["id"] in core.failures:
        out["lastTaskFailure"] = dict(core.failures[app["id"]])
    return out


def deployment_json(d: Deployment) -> dict[str, Any]:
    return {
        "id": d.id, "version": d.version, "affectedApps": [d.app_id], "affectedPods": [],
        "steps": [{"actions": [{"action": a, "app": d.app_id} for a in step]} for step in d.steps],
        "currentActions": [{"action": d.action, "app": d.app_id, "readinessCheckResults": []}],
        "currentStep": d.current_step, "totalSteps": len(d.steps),
    }


def group_json(core: MarathonCore, group_id: str = "/", embed: Collection[str] = ()) -> dict[str, Any]:
    """The group ``group_id`` with its apps and subgroups (Marathon's /v2/groups tree)."""
    prefix = group_id.rstrip("/") + "/"
    apps, children = [], set()
    for app_id in sorted(core.apps):
        if not app_id.startswith(prefix):
            continue
        rest = app_id[len(prefix):]
        if "/" in rest:
            children.add(prefix + rest.split("/")[0])
        else:
            apps.append(app_json(core, core.apps[app_id], embed))
    versions = [a["version"] for a in apps]
    return {"id": group_id, "apps": apps, "groups": [group_json(core, c, embed) for c in sorted(children)],
            "pods": [], "dependencies": [], "version": max(versions) if versions else None}


def queue_json(core: MarathonCore, now: float) -> dict[str, Any]:
    items = []
    for app in core.apps.values():
        count = core.demand(app)
        if count <= 0:
            continue
        left = core.delays.time_left(app, now)
        items.append({"app": app_json(core, app), "count": count, "since": app["version"],
                      "delay": {"timeLeftSeconds": int(round(left)), "overdue": left <= 0}})
    return {"queue": items}
