"""The master's records in the v1 operator API's JSON shapes (Mesos' ``master::Response``/``Event``).

Pure: functions of the core's records, called on the master's thread. Ids are
``{"value": ...}``, resources v1 resource lists, times ``{"nanoseconds": n}``
(epoch), bytes base64 text. ``observed_event`` turns what the core observes
(``MasterLedger.observe``) into the operator ``SUBSCRIBE`` stream's events. With a
``Viewer`` (actors/security/visibility.py) the views and events hold only the
frameworks, tasks and executors the asking principal may see (``may_see``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from actors.master.model import Agent, Framework, Task, role_usage
from actors.resources import EMPTY, Resources
from actors.scheduler.shapes import for_callback
from actors.security.objects import executor_user
from actors.security.visibility import Viewer

if TYPE_CHECKING:
    from actors.master.core import MasterCore

__all__ = [
    "agent_v1", "executors_v1", "framework_v1", "get_agents", "get_executors", "get_frameworks", "get_roles",
    "get_state", "get_tasks", "may_see", "observed_event", "task_v1", "time_info",
]

Dict = dict[str, Any]
_TASK_INFO_KEYS = ("labels", "discovery", "container", "health_check", "kill_policy", "user")


def time_info(seconds: float) -> Dict:
    return {"nanoseconds": int(seconds * 1e9)}


def _id(value: str) -> Dict:
    return {"value": value}


def task_v1(task: Task) -> Dict:
    out: Dict = {"name": task.name, "task_id": _id(task.task_id), "framework_id": _id(task.framework_id),
                 "agent_id": _id(task.agent_id), "state": task.state, "resources": task.resources.to_dicts(),
                 "statuses": for_callback(task.statuses)}
    if task.executor_id and task.executor_id != task.task_id:
        out["executor_id"] = _id(task.executor_id)
    out.update({k: for_callback(task.info[k]) for k in _TASK_INFO_KEYS if k in task.info})
    return out


def _offered(core: MasterCore, offer_ids: Iterable[str]) -> Resources:
    return sum((core.offers[o].resources for o in offer_ids if o in core.offers), EMPTY)


def agent_v1(core: MasterCore, agent: Agent) -> Dict:
    info = {k: v for k, v in agent.info.items() if k not in ("resources",)}
    info.update(id=_id(agent.agent_id), hostname=agent.hostname, resources=agent.total.to_dicts())
    return {"agent_info": for_callback(info), "active": agent.connected, "deactivated": False,
            "version": str(agent.info.get("version", "")), "pid": agent.pid,
            "registered_time": time_info(agent.registered_time + core.epoch_offset),
            "total_resources": agent.total.to_dicts(), "allocated_resources": agent.used().to_dicts(),
            "offered_resources": _offered(core, agent.offers).to_dicts()}


def framework_v1(core: MasterCore, fw: Framework) -> Dict:
    out: Dict = {"framework_info": for_callback(dict(fw.info, id=_id(fw.framework_id))), "active": fw.active,
                 "connected": fw.connected, "recovered": fw.recovered,
                 "registered_time": time_info(fw.registered_time + core.epoch_offset),
                 "offered_resources": _offered(core, fw.offers).to_dicts()}
    if fw.unregistered_time is not None:
        out["unregistered_time"] = time_info(fw.unregistered_time + core.epoch_offset)
    return out


def _user(fw: Framework) -> str:
    return str(fw.info.get("user") or "")


def _framework_users(core: MasterCore) -> dict[str, str]:
    return {fw.framework_id: _user(fw) for fw in (*core.frameworks.values(), *core.completed_frameworks)}


def executors_v1(agent: Agent, viewer: Viewer | None = None, users: Mapping[str, str] | None = None) -> list[Dict]:
    """The agent's executors (those ``viewer`` may see; ``users``: framework id -> user)."""
    return [{"executor_info": for_callback(dict(record.signature, framework_id=_id(fid), executor_id=_id(eid))),
             "agent_id": _id(agent.agent_id)} for (fid, eid), record in agent.executor_infos.items()
            if viewer is None or viewer.executor((users or {}).get(fid, ""),
                                                 executor_user(record.signature, ""))]


def get_tasks(core: MasterCore, viewer: Viewer | None = None) -> Dict:
    frameworks = [fw for fw in core.frameworks.values() if viewer is None or viewer.framework(_user(fw))]
    completed = [fw for fw in core.completed_frameworks if viewer is None or viewer.framework(_user(fw))]

    def shown(fw: Framework, tasks: Any) -> list[Dict]:
        return [task_v1(t) for t in tasks if viewer is None or viewer.task(_user(fw), t.user)]

    return {"tasks": [d for fw in frameworks for d in shown(fw, fw.tasks.values())], "pending_tasks": [],
            "orphan_tasks": [],
            "completed_tasks": [d for fw in (*frameworks, *completed) for d in shown(fw, fw.completed)],
            "unreachable_tasks": [d for fw in frameworks for d in shown(fw, fw.unreachable)]}


def get_agents(core: MasterCore) -> Dict:
    return {"agents": [agent_v1(core, a) for a in core.agents.values()], "recovered_agents": []}


def get_frameworks(core: MasterCore, viewer: Viewer | None = None) -> Dict:
    def shown(frameworks: Any) -> list[Dict]:
        return [framework_v1(core, f) for f in frameworks if viewer is None or viewer.framework(_user(f))]

    return {"frameworks": shown(core.frameworks.values()), "completed_frameworks": shown(core.completed_frameworks),
            "recovered_frameworks": []}


def get_executors(core: MasterCore, viewer: Viewer | None = None) -> Dict:
    users = _framework_users(core) if viewer is not None else None
    return {"executors": [e for a in core.agents.values() for e in executors_v1(a, viewer, users)],
            "orphan_executors": []}


def get_state(core: MasterCore, viewer: Viewer | None = None) -> Dict:
    return {"get_tasks": get_tasks(core, viewer), "get_executors": get_executors(core, viewer),
            "get_frameworks": get_frameworks(core, viewer), "get_agents": get_agents(core)}


def may_see(core: MasterCore, viewer: Viewer | None, kind: str, record: Any) -> bool:
    """Whether ``viewer`` sees the event of ``kind`` about ``record`` (agents: always)."""
    if viewer is None or kind.startswith("agent_"):
        return True
    if kind.startswith("framework_"):
        return viewer.framework(_user(record))
    if kind.startswith("task_"):
        fw = core.frameworks.get(record.framework_id)
        return fw is not None and viewer.task(_user(fw), record.user)
    return True


def get_roles(core: MasterCore, weights: Mapping[str, float]) -> Dict:
    frameworks, allocated = role_usage(core.frameworks.values())
    names = sorted(set(frameworks) | set(weights) | set(allocated))
    return {"roles": [{"name": name, "weight": weights.get(name, 1.0),
                       "frameworks": [_id(f) for f in frameworks.get(name, [])],
                       "resources": allocated.get(name, EMPTY).to_dicts()} for name in names]}


def observed_event(core: MasterCore, kind: str, record: Any) -> Dict | None:
    """The operator event of a change the core observed (None: no event for it)."""
    if kind == "task_added":
        return {"type": "TASK_ADDED", "task_added": {"task": task_v1(record)}}
    if kind == "task_updated":
        status = for_callback(record.statuses[-1]) if record.statuses else {}
        return {"type": "TASK_UPDATED", "task_updated": {
            "framework_id": _id(record.framework_id), "status": status, "state": record.state}}
    if kind == "agent_added":
        return {"type": "AGENT_ADDED", "agent_added": {"agent": agent_v1(core, record)}}
    if kind == "agent_removed":
        return {"type": "AGENT_REMOVED", "agent_removed": {"agent_id": _id(record.agent_id)}}
    if kind in ("framework_added", "framework_updated"):
        return {"type": kind.upper(), kind: {"framework": framework_v1(core, record)}}
    if kind == "framework_removed":
        return {"type": "FRAMEWORK_REMOVED", "framework_removed": {
            "framework_info": for_callback(dict(record.info, id=_id(record.framework_id)))}}
    return None
