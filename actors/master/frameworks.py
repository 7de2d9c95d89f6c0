"""Framework life cycle in the master core: register, re-register, disconnect, failover, removal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import structlog

from actors.master.model import (
    TERMINAL_STATES,
    Effect,
    Framework,
    LinkTo,
    Send,
    ToAllocator,
    framework_roles,
    id_value,
)
from actors.resources import Resources
from actors.roles import role_error
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["deactivate", "deactivate_message", "disconnect", "register", "remove", "reregister", "unregister"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
MAX_DURATION_NS = 2**63 - 1  # Mesos' Duration: int64 nanoseconds


def _role_error(core: MasterLedger, info: Dict) -> str | None:
    """Why the FrameworkInfo's roles are refused (Mesos' role name rules, the
    master's ``--roles``), naming the bad role; None if they are fine."""
    for name in ("roles", "role"):
        if name not in info or info[name] is None:
            continue
        value = info[name]
        roles = value if name == "roles" else [value]
        if not isinstance(roles, list):
            return f"FrameworkInfo.roles must be a list of role names, got {value!r}"
        for role in roles:
            error = role_error(role)
            if error is not None and not (name == "role" and role == ""):
                return f"FrameworkInfo.{name} has the invalid role {role!r}: {error}"
        if len(set(roles)) != len(roles):
            return f"FrameworkInfo.roles contains duplicate roles: {roles!r}"
    for role in framework_roles(info):
        if core.allowed_roles and role != "*" and role not in core.allowed_roles:
            return f"Role '{role}' is not present in the master's --roles"
    return None


def _suppressed_error(info: Dict, suppressed: Any) -> str | None:
    """Why ``suppressed_roles`` is refused (Mesos: each must be one of the framework's roles)."""
    if not isinstance(suppressed, (list, tuple)) or not all(isinstance(r, str) for r in suppressed):
        return f"suppressed_roles must be a list of role names, got {suppressed!r}"
    roles = framework_roles(info)
    bad = next((r for r in suppressed if r not in roles), None)
    if bad is not None:
        return f"Suppressed role {bad!r} is not contained in the list of roles {roles!r}"
    return None


def _failover_timeout_error(info: Dict) -> str | None:
    """Mesos refuses a failover_timeout that is no Duration (nanoseconds in an int64)."""
    value = info.get("failover_timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) * 1e9 > MAX_DURATION_NS:
        return f"Invalid failover_timeout {value!r}: it must be a number of seconds below {MAX_DURATION_NS / 1e9:.0f}"
    return None


def _info_error(core: MasterLedger, info: Dict, suppressed: Any) -> str | None:
    return _role_error(core, info) or _failover_timeout_error(info) or _suppressed_error(info, suppressed)


def _used_by_agent(core: MasterLedger, fid: str) -> dict[str, dict[str, Resources]]:
    out: dict[str, dict[str, Resources]] = {}
    for agent in core.agents.values():
        if agent.connected:
            by_role = agent.used_by().get(fid)
            if by_role:
                out[agent.agent_id] = by_role
    return out


def register(core: MasterLedger, sender: str, msg: m.RegisterFramework, now: float, out: list[Effect]) -> None:
    info = dict(msg.framework) if isinstance(msg.framework, dict) else {}
    if id_value(info.get("id")):
        reregister(core, sender, m.ReregisterFramework(framework=info, failover=True,
                                                       suppressed_roles=msg.suppressed_roles), now, out)
        return
    known = core.framework_pids.get(sender)
    if known is not None and known in core.frameworks and core.frameworks[known].connected:
        # A retry of the driver: answer again with the same id.
        out.append(Send(sender, m.FrameworkRegistered(framework_id=known, master_info=core.master_info())))
        return
    error = _info_error(core, info, msg.suppressed_roles)
    if error:
        out.append(Send(sender, m.FrameworkError(message=error)))
        return
    fid = core.new_framework_id()
    info["id"] = {"value": fid}
    fw = Framework(framework_id=fid, info=info, pid=sender, registered_time=now)
    core.frameworks[fid] = fw
    core.framework_pids[sender] = fid
    out.append(LinkTo(sender))
    out.append(ToAllocator("add_framework", {"framework_id": fid, "roles": fw.roles,
                                              "suppressed_roles": list(msg.suppressed_roles)}))
    out.append(Send(sender, m.FrameworkRegistered(framework_id=fid, master_info=core.master_info())))
    core.observe("framework_added", fw)
    log.info("framework_registered", framework_id=fid, name=info.get("name", ""), pid=sender)


def reregister(core: MasterLedger, sender: str, msg: m.ReregisterFramework, now: float, out: list[Effect]) -> None:
    info = dict(msg.framework) if isinstance(msg.framework, dict) else {}
    fid = id_value(info.get("id"))
    if not fid:
        out.append(Send(sender, m.FrameworkError(message="Framework re-registering without an id")))
        return
    if fid in core.removed_frameworks:
        out.append(Send(sender, m.FrameworkError(message=f"Framework {fid} has been removed")))
        return
    error = _info_error(core, info, msg.suppressed_roles)
    if error:
        out.append(Send(sender, m.FrameworkError(message=error)))
        return
    suppressed = list(msg.suppressed_roles)
    info["id"] = {"value": fid}
    fw = core.frameworks.get(fid)
    added = fw is None
    registered = False
    if fw is None:
        fw = Framework(framework_id=fid, info=info, pid=sender, registered_time=now)
        core.frameworks[fid] = fw
        out.append(ToAllocator("add_framework", {"framework_id": fid, "roles": fw.roles,
                                                  "suppressed_roles": suppressed, "used": _used_by_agent(core, fid)}))
    else:
        if not fw.recovered and not msg.failover and fw.pid != sender:
            # Not a new instance taking over, yet not the instance the master knows: one that
            # was failed over, coming back (Mesos refuses it the same way).
            out.append(Send(sender, m.FrameworkError(message="Framework failed over")))
            log.info("framework_reregistration_refused", framework_id=fid, pid=sender, current=fw.pid)
            return
        registered = msg.failover and not fw.recovered  # a failover: the new instance is told ``registered``
        if registered:
            _fail_over(core, fw, sender, now, out)
        fw.info, fw.pid = info, sender
        fw.failover_deadline = None
        if fw.recovered:
            fw.recovered = False
            out.append(ToAllocator("add_framework", {"framework_id": fid, "roles": fw.roles,
                                                      "suppressed_roles": suppressed}))
        else:
            out.append(ToAllocator("update_framework_roles", {"framework_id": fid, "roles": fw.roles,
                                                               "suppressed_roles": suppressed}))
            out.append(ToAllocator("activate_framework", {"framework_id": fid}))
        for agent in core.agents.values():
            if agent.connected and any(f == fid for f, _ in agent.tasks):
                out.append(Send(agent.pid, m.UpdateFramework(framework_id=fid, framework_pid=sender)))
    fw.connected = fw.active = True
    core.framework_pids[sender] = fid
    out.append(LinkTo(sender))
    reply = m.FrameworkRegistered if registered else m.FrameworkReregistered
    out.append(Send(sender, reply(framework_id=fid, master_info=core.master_info())))
    core.observe("framework_added" if added else "framework_updated", fw)
    log.info("framework_failed_over" if registered else "framework_reregistered", framework_id=fid, pid=sender)


def _fail_over(core: MasterLedger, fw: Framework, sender: str, now: float, out: list[Effect]) -> None:
    """Mesos' ``failoverFramework``: the old instance (if connected) is told it was failed over, and
    the offers it held go back to the allocator, to be offered to the new one."""
    if fw.pid != sender:
        if fw.connected:
            out.append(Send(fw.pid, m.FrameworkError(message="Framework failed over")))
        core.framework_pids.pop(fw.pid, None)
    for oid in list(fw.offers):
        offer = core.offers.get(oid)
        if offer is not None:
            core.remove_offer(offer, out, rescind=False, recover=True, now=now)
    fw.offers.clear()


def unregister(core: MasterLedger, sender: str, msg: m.UnregisterFramework, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is not None:
        log.info("framework_unregistered", framework_id=fw.framework_id)
        remove(core, fw, now, out)


def deactivate_message(core: MasterLedger, sender: str, msg: m.DeactivateFramework, now: float,
                       out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is not None:
        disconnect(core, fw, now, out)


def deactivate(core: MasterLedger, fw: Framework, now: float, out: list[Effect]) -> None:
    """No more offers: outstanding ones are taken back."""
    if fw.active:
        fw.active = False
        out.append(ToAllocator("deactivate_framework", {"framework_id": fw.framework_id}))
    for oid in list(fw.offers):
        offer = core.offers.get(oid)
        if offer is not None:
            core.remove_offer(offer, out, rescind=fw.connected, recover=True, now=now)
    fw.offers.clear()


def disconnect(core: MasterLedger, fw: Framework, now: float, out: list[Effect]) -> None:
    """The scheduler is gone: deactivate and start the failover timer (0: remove now)."""
    if not fw.connected:
        return
    deactivate(core, fw, now, out)
    fw.connected = False
    core.observe("framework_updated", fw)
    timeout = fw.info.get("failover_timeout", 0.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
        timeout = 0.0
    log.info("framework_disconnected", framework_id=fw.framework_id, failover_timeout=timeout)
    if timeout <= 0:
        remove(core, fw, now, out)
    else:
        fw.failover_deadline = now + float(timeout)
        core.schedule("failover", fw.framework_id, fw.failover_deadline)


def remove(core: MasterLedger, fw: Framework, now: float, out: list[Effect]) -> None:
    """Tear the framework down: its tasks are killed on their agents, its resources recovered."""
    fid = fw.framework_id
    for oid in list(fw.offers):
        offer = core.offers.get(oid)
        if offer is not None:
            core.remove_offer(offer, out, rescind=False, recover=False, now=now)
    for agent in core.agents.values():
        mine = [t for (f, _), t in agent.tasks.items() if f == fid]
        has_executor = any(f == fid for f, _ in agent.executors)
        if (mine or has_executor) and agent.connected:
            out.append(Send(agent.pid, m.ShutdownFramework(framework_id=fid)))
        for task in mine:
            del agent.tasks[(fid, task.task_id)]
            if task.state not in TERMINAL_STATES:
                task.state = "TASK_KILLED"
                task.record_status(core.make_status(task.task_id, "TASK_KILLED", reason="REASON_FRAMEWORK_REMOVED",
                                                      message="Framework removed", agent_id=agent.agent_id, now=now))
            fw.add_completed(task, core.config)
        agent.drop_executors(fid)
    fw.tasks.clear()
    out.append(ToAllocator("remove_framework", {"framework_id": fid}))
    fw.connected = fw.active = False
    fw.failover_deadline = None
    fw.unregistered_time = now
    del core.frameworks[fid]
    if core.framework_pids.get(fw.pid) == fid:
        del core.framework_pids[fw.pid]
    core.removed_frameworks.add(fid)
    core.completed_frameworks.append(fw)
    core.observe("framework_removed", fw)
    log.info("framework_removed", framework_id=fid)
