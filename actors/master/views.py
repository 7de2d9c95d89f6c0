"""The master's HTTP views (Mesos' JSON shapes) built from the core: pure
functions of ``(core, now, ...)``, run on the master's thread by
actors/master/http.py. /master/state itself is state_json.build_state.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from actors.master.model import TERMINAL_STATES, Task, flat_resources, role_usage
from actors.master.quota import consumed_with_offers
from actors.roles import ancestors
from actors.master.state_json import build_state
from actors.resources import EMPTY
from actors.security.visibility import Viewer

if TYPE_CHECKING:
    from actors.master.core import MasterCore

__all__ = [
    "TASK_STATES", "all_tasks", "allocation_reasons", "allocation_view", "frameworks_view", "metrics", "roles_view",
    "slaves_view", "state_view", "summary_view", "tasks_view",
]

Dict = dict[str, Any]
TASK_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_FAILED",
               "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE",
               "TASK_GONE_BY_OPERATOR")


def state_view(core: MasterCore, now: float) -> Dict:
    """/master/state: the core's state plus the leader fields Mesos' clients read."""
    state = build_state(core, now)
    state["leader"] = core.pid
    state["leader_info"] = core.master_info()
    return state


def frameworks_view(core: MasterCore, now: float) -> Dict:
    state = build_state(core, now)
    return {key: state[key] for key in ("frameworks", "completed_frameworks", "unregistered_frameworks")}


def slaves_view(core: MasterCore, now: float) -> Dict:
    return {"slaves": build_state(core, now)["slaves"], "recovered_slaves": []}


def _state_counts(tasks: Iterable[Task]) -> Dict:
    counts = Counter(t.state for t in tasks)
    return {state: counts.get(state, 0) for state in TASK_STATES}


def summary_view(core: MasterCore, now: float, viewer: Viewer | None = None) -> Dict:
    """/master/state-summary: agents and frameworks with task counts by state, no task lists;
    with ``viewer``, only the frameworks and tasks it may see are shown and counted."""
    state = build_state(core, now)
    agent_tasks: dict[str, list[Task]] = {}
    agent_frameworks: dict[str, set[str]] = {}
    shown: dict[str, tuple[list[Task], list[str]]] = {}  # framework id -> (its tasks, the agents of live ones)
    for fw in core.frameworks.values():
        user = str(fw.info.get("user") or "")
        if viewer is not None and not viewer.framework(user):
            continue
        def seen(t: Task) -> bool:
            return viewer is None or viewer.task(user, t.user)

        tasks = [t for t in (*fw.tasks.values(), *fw.completed, *fw.unreachable) if seen(t)]
        shown[fw.framework_id] = tasks, [t.agent_id for t in fw.tasks.values() if seen(t)]
        for task in tasks:
            agent_tasks.setdefault(task.agent_id, []).append(task)
            agent_frameworks.setdefault(task.agent_id, set()).add(fw.framework_id)
    slaves = []
    for agent in state["slaves"]:
        summary = {k: agent[k] for k in ("id", "pid", "hostname", "resources", "used_resources",
                                          "offered_resources", "unreserved_resources", "attributes", "active",
                                          "version", "registered_time")}
        summary.update(_state_counts(agent_tasks.get(agent["id"], [])))
        summary["framework_ids"] = sorted(agent_frameworks.get(agent["id"], ()))
        slaves.append(summary)
    frameworks = []
    for fw_state in state["frameworks"]:
        if fw_state["id"] not in shown:
            continue
        summary = {k: fw_state[k] for k in ("id", "name", "pid", "used_resources", "offered_resources",
                                             "capabilities", "hostname", "webui_url", "active", "connected",
                                             "role", "roles")}
        tasks, live_on = shown[fw_state["id"]]
        summary.update(_state_counts(tasks))
        summary["slave_ids"] = sorted(set(live_on))
        frameworks.append(summary)
    return {"hostname": state["hostname"], "cluster": "", "slaves": slaves, "frameworks": frameworks}


def all_tasks(core: MasterCore) -> list[Task]:
    """Every task the master keeps: active, unreachable and completed, of current and removed frameworks."""
    out: list[Task] = []
    for fw in (*core.frameworks.values(), *core.completed_frameworks):
        out.extend(fw.tasks.values())
        out.extend(fw.unreachable)
        out.extend(fw.completed)
    return out


def _start_time(task: Task) -> float:
    return float(task.statuses[0].get("timestamp", 0.0)) if task.statuses else 0.0


def tasks_view(core: MasterCore, *, limit: int, offset: int, order: str, framework_id: str = "",
               task_id: str = "", visible: Callable[[Task], bool] | None = None) -> Dict:
    """/master/tasks: tasks sorted by start time (``order`` "asc" or "des"), filtered (also by
    ``visible``: what the asking principal may see), paged."""
    tasks = [t for t in all_tasks(core)
             if (not framework_id or t.framework_id == framework_id) and (not task_id or t.task_id == task_id)
             and (visible is None or visible(t))]
    tasks.sort(key=lambda t: (_start_time(t), t.task_id))  # ties (same second) in id order
    if order == "des":
        tasks.reverse()
    return {"tasks": [t.to_dict() for t in tasks[offset:offset + limit]]}


def roles_view(core: MasterCore, weights: Mapping[str, float]) -> Dict:
    """/master/roles: each role with a weight, a framework or a quota: its frameworks, allocated
    resources and (Mesos 1.9+) ``quota`` with ``guarantee``, ``limit`` and ``consumed``."""
    frameworks, allocated = role_usage(core.frameworks.values())
    names = sorted(set(frameworks) | set(weights) | set(core.quotas))
    roles = []
    for name in names:
        entry: Dict = {"name": name, "weight": weights.get(name, 1.0), "frameworks": frameworks.get(name, []),
                       "resources": flat_resources(allocated.get(name, EMPTY))}
        quota = core.quotas.get(name)
        if quota is not None:
            entry["quota"] = {"role": name, "guarantee": dict(quota.guarantees), "limit": dict(quota.limits),
                              "consumed": consumed_with_offers(core, name)}
        roles.append(entry)
    return {"roles": roles}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def metrics(core: MasterCore, now: float, uptime: float, received: Mapping[str, int],
            dropped: int, queued: int) -> dict[str, float]:
    """/metrics/snapshot with Mesos' names (``master/tasks_running``, ``master/cpus_used``...)."""
    out: dict[str, float] = {"master/uptime_secs": uptime, "master/elected": 1.0}
    agents = list(core.agents.values())
    connected = sum(1 for a in agents if a.connected)
    out["master/slaves_active"] = out["master/slaves_connected"] = connected
    out["master/slaves_inactive"] = out["master/slaves_disconnected"] = len(agents) - connected
    out["master/slaves_unreachable"] = len(core.registrar.registry.unreachable)
    out["master/recovery_slave_removals"] = core.recovery_removals
    out["master/registrar/state_store_writes"] = core.registrar.writes
    fws = list(core.frameworks.values())
    out["master/frameworks_active"] = sum(1 for f in fws if f.active)
    out["master/frameworks_inactive"] = len(fws) - out["master/frameworks_active"]
    out["master/frameworks_connected"] = sum(1 for f in fws if f.connected)
    out["master/frameworks_disconnected"] = len(fws) - out["master/frameworks_connected"]
    out["master/outstanding_offers"] = len(core.offers)
    live = Counter(t.state for f in fws for t in f.tasks.values())
    live.update(t.state for f in fws for t in f.unreachable)
    for state in TASK_STATES:
        key = "master/tasks_" + state[len("TASK_"):].lower()
        out[key] = core.terminal_counts.get(state, 0) if state in TERMINAL_STATES else live.get(state, 0)
    total = sum((a.total for a in agents if a.connected), EMPTY)
    used = sum((a.used() for a in agents if a.connected), EMPTY)
    offered = sum((o.resources for o in core.offers.values()), EMPTY)
    for name in ("cpus", "mem", "disk", "gpus"):
        t, u = total.scalar(name), used.scalar(name)
        out[f"master/{name}_total"] = t
        out[f"master/{name}_used"] = u
        out[f"master/{name}_percent"] = u / t if t else 0.0
        out[f"allocator/mesos/resources/{name}/total"] = t
        out[f"allocator/mesos/resources/{name}/offered_or_allocated"] = u + offered.scalar(name)
    for type_name, count in received.items():
        out[f"master/messages_{_snake(type_name)}"] = count
    out["master/dropped_messages"] = dropped
    out["master/event_queue_messages"] = queued
    return out


def security_metrics(refused: Mapping[str, int], http_refused: Mapping[str, int]) -> dict[str, float]:
    """Refusals by authentication and authorization: ``master/security/<message type>/<reason>`` and
    ``master/http_security/<request class>/<reason>`` (snapshots ``"Type:reason" -> count``), with totals."""
    out: dict[str, float] = {"master/security/refused": float(sum(refused.values())),
                             "master/http_security/refused": float(sum(http_refused.values()))}
    for prefix, table in (("master/security/", refused), ("master/http_security/", http_refused)):
        for key, count in table.items():
            kind, _, reason = key.partition(":")
            out[f"{prefix}{_snake(kind)}/{reason}"] = float(count)
    return out


def allocation_view(core: MasterCore, framework_id: str) -> Dict | None:
    """The master's half of /master/allocation: the framework, its outstanding offers, its last offer."""
    fw = core.frameworks.get(framework_id)
    if fw is None:
        return None
    offers = [core.offers[o] for o in sorted(fw.offers) if o in core.offers]
    last = None
    if fw.last_offer is not None:
        when, agent_id, offer_id = fw.last_offer
        last = {"time": when + core.epoch_offset, "agent_id": agent_id, "offer_id": offer_id}
    at_limit: dict[str, Dict] = {}
    for role in fw.roles:
        for q in (role, *ancestors(role)):
            quota = core.quotas.get(q)
            if quota is not None and quota.limits and q not in at_limit:
                used = consumed_with_offers(core, q)
                full = {n: v for n, v in quota.limits.items() if used.get(n, 0.0) >= v - 1e-9}
                if full:
                    at_limit[q] = full
    return {"id": fw.framework_id, "name": fw.info.get("name", ""), "roles": fw.roles, "active": fw.active,
            "connected": fw.connected, "last_offer": last, "quota_at_limit": at_limit,
            "offers": [{"id": o.offer_id, "agent_id": o.agent_id, "resources": flat_resources(o.resources)}
                       for o in offers]}


def allocation_reasons(framework: Dict, allocator: Dict) -> list[str]:
    """Sentences for "why is my framework not getting offers?", from both halves of the view."""
    out: list[str] = []
    if not framework["connected"]:
        out.append("the framework is disconnected: nothing is offered until its scheduler reconnects")
    elif not allocator["active"] or not framework["active"]:
        out.append("the framework is inactive: nothing is offered to it")
    if allocator["suppressed_roles"]:
        out.append(f"offers are suppressed for roles {', '.join(allocator['suppressed_roles'])}: "
                   "the scheduler must revive to get offers again")
    if allocator["filters"]:
        agents = sorted({f["agent_id"] for f in allocator["filters"]})
        out.append(f"it declined offers of {len(agents)} agent(s) with a filter: those resources are not "
                   f"offered to it again before {max(f['until'] for f in allocator['filters']):.0f} (epoch s)")
    for role, full in framework.get("quota_at_limit", {}).items():
        shown = ";".join(f"{n}:{v:g}" for n, v in sorted(full.items()))
        out.append(f"role {role!r} is at its quota limit ({shown}): no more of that is offered in its subtree")
    if framework["offers"]:
        out.append(f"it holds {len(framework['offers'])} outstanding offer(s): those resources are not "
                   "offered again until it accepts or declines them")
    for role, siblings in allocator["siblings"].items():
        lower = [s for s in siblings if s["share"] < allocator["share"] and s["framework_id"] != framework["id"]]
        if lower:
            out.append(f"in role {role!r} {len(lower)} framework(s) have a lower dominant share than its "
                       f"{allocator['share']:.3f}: DRF offers to them first")
    if not out:
        out.append("nothing holds it back: it is offered resources as agents have them free")
    return out
