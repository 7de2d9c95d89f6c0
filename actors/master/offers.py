"""Offers in the master core: making them, accept with LAUNCH (validated, run_tasks per task),
RESERVE / UNRESERVE (actors/master/operations.py) and CREATE / DESTROY (actors/master/volumes.py),
each first authorized by its ACL (dropped with the reason logged and counted if refused, as Mesos
drops it), decline, revive, suppress."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import structlog

from actors.master.compact import compact_task_info
from actors.master.model import Agent, Effect, Framework, Offer, Send, Task, ToAllocator, id_value, task_user
from actors.master.operations import OFFER_OPERATIONS, ReservationError, apply_offer_operation, checkpoint
from actors.master.volumes import (
    VOLUME_OPERATIONS,
    VolumeError,
    apply_volume_operation,
    claim_volumes,
    offer_dicts,
    volume_disk,
)
from actors.master.validation import TaskInvalid, TaskUnauthorized, check_executor, executor_record, validate_task
from actors.resources import EMPTY, Resources
from actors.roles import is_subrole
from actors.security.objects import operation_objects
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = [
    "DEFAULT_REFUSE_SECONDS",
    "MAX_OFFERS_PER_MESSAGE",
    "accept",
    "decline",
    "make_offers",
    "refuse_seconds",
    "request_resources",
    "revive",
    "suppress",
    "with_allocation_role",
]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
DEFAULT_REFUSE_SECONDS = 5.0
# Offers per ResourceOffers message: 50,000 offers in one message would pass the 16 MB
# frame limit; smaller messages also let the framework decode while the rest is sent.
MAX_OFFERS_PER_MESSAGE = 1000


def refuse_seconds(filters: Any) -> float:
    """The filter's refuse_seconds, or Mesos' default 5 s when absent or not a number >= 0."""
    value = filters.get("refuse_seconds") if isinstance(filters, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        return DEFAULT_REFUSE_SECONDS
    return float(value)


def _offer_role(roles: list[str], res: Resources) -> str:
    """For an allocation that does not name its role: the framework role reserved
    resources in it are for (a reservation to ``eng`` is offered to ``eng/backend``),
    else its first role."""
    for reserved in sorted(res.roles() - {"*"}):
        for role in roles:
            if is_subrole(role, reserved):
                return role
    return roles[0]


def with_allocation_role(items: list[Dict], role: str) -> list[Dict]:
    """Resource dicts with ``allocation_info.role`` set to ``role`` (Mesos' AllocationInfo)."""
    return [dict(d, allocation_info={"role": role}) for d in items]


def _by_role(fw_roles: list[str], res: Resources | dict[str, Resources]) -> dict[str, Resources]:
    return dict(res) if isinstance(res, dict) else {_offer_role(fw_roles, res): res}


def make_offers(core: MasterLedger, allocation: dict[str, dict[str, Any]], now: float,
                out: list[Effect]) -> None:
    """``allocation``: framework -> agent -> {role -> resources} (``allocate_roles``; a bare
    ``Resources`` is put in the role ``_offer_role`` picks). One offer per (agent, role)."""
    olog = log.bind()  # one bind per allocation, not one per offer (the lazy proxy binds on each call)
    enabled = getattr(olog, "is_enabled_for", None)
    log_each = enabled(logging.INFO) if callable(enabled) else True
    for fid, per_agent in allocation.items():
        fw = core.frameworks.get(fid)
        batch: list[Dict] = []
        for aid, allocated in per_agent.items():
            agent = core.agents.get(aid)
            if agent is None:
                continue  # removed meanwhile: the allocator forgot it too
            stacks = agent.reservations.stacks()
            for role, res in _by_role(fw.roles if fw is not None else ["*"], allocated).items():
                if fw is None or not fw.active or not fw.connected or not agent.connected or agent.deactivated:
                    out.append(ToAllocator("recover_resources", {"framework_id": fid, "agent_id": aid,
                                                                  "resources": res, "now": now, "role": role}))
                    continue
                offer = Offer(offer_id=core.new_offer_id(), framework_id=fid, agent_id=aid, resources=res,
                              role=role)
                if core.config.offer_timeout > 0:
                    offer.expires = now + core.config.offer_timeout
                    core.schedule("offer", offer.offer_id, offer.expires)
                core.offers[offer.offer_id] = offer
                fw.offers.add(offer.offer_id)
                fw.last_offer = (now, aid, offer.offer_id)
                agent.offers[offer.offer_id] = None
                host, _, port = agent.pid.rpartition("@")[2].rpartition(":")
                batch.append({
                    "id": {"value": offer.offer_id},
                    "framework_id": {"value": fid},
                    "agent_id": {"value": aid},
                    "hostname": agent.hostname,
                    "resources": with_allocation_role(offer_dicts(agent, offer.offer_id, res, stacks), role),
                    "attributes": list(agent.info.get("attributes") or []),
                    "allocation_info": {"role": role},
                    "url": {"scheme": "http", "address": {"hostname": agent.hostname, "ip": host,
                                                          "port": int(port or 0)},
                            "path": "/" + agent.pid.partition("@")[0]},
                })
                if log_each:
                    olog.info("offer_sent", offer_id=offer.offer_id, framework_id=fid, agent_id=aid, role=role,
                              resources=str(res))
        if batch and fw is not None:
            for i in range(0, len(batch), MAX_OFFERS_PER_MESSAGE):
                out.append(Send(fw.pid, m.ResourceOffers(offers=batch[i:i + MAX_OFFERS_PER_MESSAGE])))


def _launch_tasks(operations: list[Dict]) -> tuple[list[Any], list[str]]:
    tasks: list[Any] = []
    unsupported: list[str] = []
    for op in operations:
        kind = op.get("type") if isinstance(op, dict) else None
        if kind == "LAUNCH":
            tasks.extend(_tasks_of(op))
        elif kind not in OFFER_OPERATIONS + VOLUME_OPERATIONS:
            unsupported.append(str(kind))
    return tasks, unsupported


def _tasks_of(op: Dict) -> list[Any]:
    launch = op.get("launch") or {}
    infos = launch.get("task_infos") if isinstance(launch, dict) else None
    return infos if isinstance(infos, list) else []


def _own_offers(core: MasterLedger, fid: str, offer_ids: list[str]) -> tuple[list[Offer], str]:
    """The framework's offers named in an accept, and Mesos' error for the accept if any."""
    error = "" if offer_ids else "No offers specified"
    own: list[Offer] = []
    seen: set[str] = set()
    for oid in offer_ids:
        offer = core.offers.get(oid)
        if oid in seen:
            error = error or f"Offer {oid} appears more than once in offer_ids"
        elif offer is None:
            error = error or f"Offer {oid} is no longer valid"
        elif offer.framework_id != fid:
            error = error or f"Offer {oid} has invalid framework"
        else:
            own.append(offer)
        seen.add(oid)
    if not error and len({o.agent_id for o in own}) > 1:
        error = "Aggregated offers must belong to one single agent"
    if not error and len({o.role for o in own}) > 1:
        error = "Aggregated offers must be allocated to the same role"
    return own, error


def _in_role(task: Dict, role: str) -> Dict:
    """The task dict with its (and its executor's) resources labelled as allocated to ``role``;
    TaskInvalid if the framework labelled one with another role."""
    out = dict(task)
    holders = [out]
    if isinstance(out.get("executor"), dict):
        out["executor"] = dict(out["executor"])
        holders.append(out["executor"])
    for holder in holders:
        items = holder.get("resources")
        if not isinstance(items, list):
            continue
        for d in items:
            given = d.get("allocation_info") if isinstance(d, dict) else None
            named = given.get("role") if isinstance(given, dict) else None
            if named is not None and named != role:
                raise TaskInvalid(f"Task {id_value(task.get('task_id'))} uses resources allocated to role "
                                  f"{named!r}, but the offers are allocated to role {role!r}")
        holder["resources"] = with_allocation_role([d for d in items if isinstance(d, dict)], role)
    return out


def _launch(core: MasterLedger, sender: str, fw: Framework, agent: Agent, role: str, info: Any,
            remaining: Resources, known: set[str], volumes: set[str], now: float, out: list[Effect]) -> Resources:
    """Validate and launch one task from ``remaining`` (``volumes``: the persistent volumes in
    it that are free); what remains after it."""
    fid, aid = fw.framework_id, agent.agent_id
    try:
        tid, res, exec_res, eid = validate_task(info, aid, known)
        user = task_user(info) or str(fw.info.get("user") or "")
        if not core.authorize("run_tasks", fw.info.get("principal") or None, user):
            raise TaskUnauthorized(f"Not authorized to run task {tid} as user {user!r} "
                                   f"as principal {fw.info.get('principal') or None!r} (run_tasks ACL)")
        task_dict = _in_role(info, role)
        new_executor = bool(eid) and (fid, eid) not in agent.executors
        if eid and not new_executor:
            check_executor(agent.executor_infos.get((fid, eid)), task_dict["executor"], exec_res)
        need = res + exec_res if new_executor else res
        if not remaining.contains(need):
            raise TaskInvalid(f"Task {tid} uses more resources {need} than available {remaining}")
        try:
            claim_volumes(agent, task_dict, need, remaining, volumes, (fid, tid))
        except VolumeError as e:
            raise TaskInvalid(str(e)) from None
    except TaskInvalid as e:
        bad_id = id_value(info.get("task_id")) if isinstance(info, dict) else ""
        reason = "REASON_TASK_INVALID"
        if isinstance(e, TaskUnauthorized):
            reason = "REASON_TASK_UNAUTHORIZED"
            core.security.refused.refuse(sender, "AcceptOffers", "not_authorized")
        core.send_status(fid, core.make_status(bad_id, "TASK_ERROR", reason=reason,
                                               message=str(e), agent_id=aid, now=now), out)
        log.info("task_invalid", framework_id=fid, task_id=bad_id, error=str(e))
        return remaining
    known.add(tid)
    if new_executor:
        agent.executors[(fid, eid)] = exec_res
        agent.executor_infos[(fid, eid)] = executor_record(task_dict["executor"], exec_res, role)
    task_dict["agent_id"] = {"value": aid}
    task = Task(task_id=tid, framework_id=fid, agent_id=aid, name=str(info.get("name", "")),
                resources=core.shared_resources.intern(res), executor_id=eid, info=compact_task_info(task_dict),
                role=role)
    task.record_status(core.make_status(tid, "TASK_STAGING", agent_id=aid, now=now))
    fw.tasks[tid] = task
    agent.tasks[(fid, tid)] = task
    core.observe("task_added", task)
    out.append(Send(agent.pid, m.RunTask(framework=dict(fw.info), framework_pid=fw.pid, task=task_dict)))
    log.info("task_launched", task_id=tid, framework_id=fid, agent_id=aid, role=role, resources=str(res))
    return remaining - need


def _refused_operation(core: MasterLedger, sender: str, fw: Framework, op: Any) -> str:
    """Why the framework's principal may not do ``op`` (a RESERVE, UNRESERVE, CREATE or DESTROY:
    the ACL of its action, on its objects, as Mesos); "" if it may. Counted as AcceptOffers."""
    checked = operation_objects(op)
    if checked is None:
        return ""
    action, objects = checked
    return core.security.permit(action, fw.info.get("principal") or None, objects, "AcceptOffers", sender)


def accept(core: MasterLedger, sender: str, msg: m.AcceptOffers, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is None:
        return
    fid = fw.framework_id
    task_infos, unsupported = _launch_tasks(list(msg.operations))
    if unsupported:
        log.warning("operations_unsupported", framework_id=fid, types=unsupported)
    own, error = _own_offers(core, fid, list(msg.offer_ids))
    own_ids = {o.offer_id for o in own}
    held = core.agents.get(own[0].agent_id) if own else None
    volumes = {i for i, v in held.volumes.items() if v.offer in own_ids} if held is not None else set()
    offered: dict[tuple[str, str], Resources] = {}
    for offer in own:
        core.remove_offer(offer, out, rescind=False, recover=False, now=now)
        key = (offer.agent_id, offer.role)
        offered[key] = offered.get(key, EMPTY) + offer.resources
    lost_state = "TASK_DROPPED" if fw.partition_aware else "TASK_LOST"
    agent = core.agents.get(own[0].agent_id) if own and not error else None
    if error or agent is None or not agent.connected:
        if not error:
            reason = "REASON_AGENT_REMOVED" if agent is None else "REASON_AGENT_DISCONNECTED"
            text = f"Agent {own[0].agent_id} is " + ("removed" if agent is None else "disconnected")
        else:
            reason, text = "REASON_INVALID_OFFERS", f"Task launched with invalid offers: {error}"
        for info in task_infos:
            tid = id_value(info.get("task_id")) if isinstance(info, dict) else ""
            core.send_status(fid, core.make_status(tid, lost_state, reason=reason, message=text, now=now), out)
        for (aid, role), res in offered.items():
            out.append(ToAllocator("recover_resources", {"framework_id": fid, "agent_id": aid,
                                                          "resources": res, "now": now, "role": role}))
        log.info("accept_invalid", framework_id=fid, error=text, tasks=len(task_infos))
        return
    aid, role = agent.agent_id, own[0].role
    remaining = offered.get((aid, role), EMPTY)
    known = set(fw.tasks)
    for op in msg.operations:
        kind = op.get("type") if isinstance(op, dict) else None
        refused = _refused_operation(core, sender, fw, op)
        if refused:
            log.info("operation_refused", framework_id=fid, type=kind, error=refused)
        elif kind == "LAUNCH":
            for info in _tasks_of(op):
                remaining = _launch(core, sender, fw, agent, role, info, remaining, known, volumes, now, out)
        elif kind in OFFER_OPERATIONS:
            try:
                remaining = apply_offer_operation(core, fw, agent, role, op, remaining,
                                                  volume_disk(agent, volumes), now, out)
            except ReservationError as e:
                log.info("operation_invalid", framework_id=fid, type=kind, error=str(e))
        elif kind in VOLUME_OPERATIONS:
            try:
                apply_volume_operation(fw, agent, role, op, remaining, volumes)
            except VolumeError as e:
                log.info("operation_invalid", framework_id=fid, type=kind, error=str(e))
            else:
                checkpoint(agent, out)
    if remaining:
        out.append(ToAllocator("recover_resources", {
            "framework_id": fid, "agent_id": aid, "resources": remaining, "role": role,
            "refuse_seconds": refuse_seconds(msg.filters), "now": now}))


def decline(core: MasterLedger, sender: str, msg: m.DeclineOffers, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is None:
        return
    seconds = refuse_seconds(msg.filters)
    for oid in msg.offer_ids:
        offer = core.offers.get(oid)
        if offer is None or offer.framework_id != fw.framework_id:
            log.info("decline_unknown_offer", offer_id=oid, framework_id=fw.framework_id)
            continue
        core.remove_offer(offer, out, rescind=False, recover=True, refuse_seconds=seconds, now=now)


def revive(core: MasterLedger, sender: str, msg: m.ReviveOffers, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is not None:
        roles = [r for r in msg.roles if r in fw.roles] if msg.roles else None
        out.append(ToAllocator("revive", {"framework_id": fw.framework_id, "roles": roles}))


def suppress(core: MasterLedger, sender: str, msg: m.SuppressOffers, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is not None:
        roles = [r for r in msg.roles if r in fw.roles] if msg.roles else None
        out.append(ToAllocator("suppress", {"framework_id": fw.framework_id, "roles": roles}))


def request_resources(core: MasterLedger, sender: str, msg: m.ResourceRequest, now: float, out: list[Effect]) -> None:
    """Mesos' allocator ignores requests too; logged only."""
    log.info("resources_requested", framework_id=msg.framework_id, requests=len(msg.requests))
