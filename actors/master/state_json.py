"""The /master/state dict (Mesos' keys) built from the master core's records.

Every time in it is epoch seconds, as in Mesos: the records keep the core's
clock (``now``, monotonic under a real clock, which drives the timers) and are
turned into wall time here, with the core's ``epoch_offset``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.master.model import TERMINAL_STATES, Agent, Framework, flat_resources
from actors.master.quota import quota_status
from actors.resources import EMPTY, Resources

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["build_state"]

Dict = dict[str, Any]


def _framework(core: MasterLedger, fw: Framework) -> Dict:
    used = sum((t.resources for t in fw.tasks.values() if t.state not in TERMINAL_STATES), EMPTY)
    for agent in core.agents.values():
        for (fid, _), res in agent.executors.items():
            if fid == fw.framework_id:
                used = used + res
    offers = [core.offers[o] for o in sorted(fw.offers) if o in core.offers]
    offered: Resources = sum((o.resources for o in offers), EMPTY)
    info = fw.info
    return {
        "id": fw.framework_id,
        "name": info.get("name", ""),
        "user": info.get("user", ""),
        "pid": fw.pid,
        "hostname": info.get("hostname", ""),
        "webui_url": info.get("webui_url", ""),
        "principal": info.get("principal", ""),
        "checkpoint": bool(info.get("checkpoint", False)),
        "failover_timeout": info.get("failover_timeout", 0.0),
        "capabilities": [c.get("type") for c in info.get("capabilities") or [] if isinstance(c, dict)],
        "role": fw.roles[0],
        "roles": fw.roles,
        "active": fw.active,
        "connected": fw.connected,
        "recovered": fw.recovered,
        "registered_time": fw.registered_time + core.epoch_offset,
        "unregistered_time": 0.0 if fw.unregistered_time is None else fw.unregistered_time + core.epoch_offset,
        "tasks": [t.to_dict() for t in fw.tasks.values()],
        "completed_tasks": [t.to_dict() for t in fw.completed],
        "unreachable_tasks": [t.to_dict() for t in fw.unreachable],
        "offers": [{"id": o.offer_id, "framework_id": o.framework_id, "slave_id": o.agent_id,
                    "resources": flat_resources(o.resources)} for o in offers],
        "used_resources": flat_resources(used),
        "offered_resources": flat_resources(offered),
        "resources": flat_resources(used + offered),
    }


def _agent(core: MasterLedger, agent: Agent) -> Dict:
    offered: Resources = sum((core.offers[o].resources for o in agent.offers if o in core.offers), EMPTY)
    reserved = sorted(agent.total.roles() - {"*"})
    return {
        "id": agent.agent_id,
        "pid": agent.pid,
        "hostname": agent.hostname,
        "port": agent.info.get("port", 0),
        "address": agent.info.get("address"),  # its HTTP address (ours; Mesos' agents serve HTTP on their pid)
        "resources": flat_resources(agent.total),
        "used_resources": flat_resources(agent.used()),
        "offered_resources": flat_resources(offered),
        "unreserved_resources": flat_resources(agent.total.unreserved()),
        "reserved_resources": {role: flat_resources(agent.total.reserved(role)) for role in reserved},
        # Mesos' full resource dicts (for /unreserve and /destroy-volumes), filtered by view_roles
        "reserved_resources_full": {role: agent.total.reserved(role).to_dicts() for role in reserved},
        "unreserved_resources_full": agent.total.unreserved().to_dicts(),
        "used_resources_full": agent.used().to_dicts(),
        "offered_resources_full": offered.to_dicts(),
        "attributes": {a.get("name"): _attr_value(a) for a in agent.info.get("attributes") or []
                       if isinstance(a, dict)},
        "active": agent.connected,
        "deactivated": agent.deactivated,
        **({"drain_info": agent.drain_info} if agent.drain_info is not None else {}),
        "registered_time": agent.registered_time + core.epoch_offset,
        "version": agent.info.get("version", ""),
    }


def _attr_value(attr: Dict) -> Any:
    for key in ("text", "scalar"):
        if isinstance(attr.get(key), dict):
            return attr[key].get("value")
    if isinstance(attr.get("ranges"), dict):
        return "[" + ",".join(f"{r.get('begin')}-{r.get('end')}" for r in attr["ranges"].get("range", [])) + "]"
    return None


def build_state(core: MasterLedger, now: float) -> Dict:
    info = core.master_info()
    active = [a for a in core.agents.values() if a.connected]
    return {
        "id": core.master_id,
        "pid": core.pid,
        "hostname": info["hostname"],
        "version": core.version,
        "start_time": core.start_time,
        "elected_time": core.start_time,
        "activated_slaves": len(active),
        "deactivated_slaves": len(core.agents) - len(active),
        "frameworks": [_framework(core, fw) for fw in core.frameworks.values()],
        "completed_frameworks": [_framework(core, fw) for fw in core.completed_frameworks],
        "slaves": [_agent(core, a) for a in core.agents.values()],
        # Admitted by an earlier leader (the registry), not re-registered yet (Mesos' recovered agents).
        "recovered_slaves": [{"id": r.agent_id, "hostname": r.hostname, "pid": r.pid} for r in core.recovered.values()],
        "unreachable_slaves": len(core.registrar.registry.unreachable),
        "unreachable_agents": [{"id": aid, "unreachable_time": when}
                               for aid, when in core.registrar.registry.unreachable.items()],
        "unregistered_frameworks": [],
        "quota": quota_status(core),
        "flags": {k: str(v) for k, v in vars(core.config).items()},
    }
