"""Offers in the master core: making them, accept with LAUNCH (validated), decline, revive, suppress."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import structlog

from actors.master.model import Effect, Offer, Send, Task, ToAllocator, id_value
from actors.master.tasks import without_data
from actors.master.validation import TaskInvalid, validate_task
from actors.resources import EMPTY, Resources
from actors.roles import is_subrole
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
    """The framework role reserved resources in the offer are for (a reservation to
    ``eng`` is offered to ``eng/backend``), else its first role."""
    for reserved in sorted(res.roles() - {"*"}):
        for role in roles:
            if is_subrole(role, reserved):
                return role
    return roles[0]


def make_offers(core: MasterLedger, allocation: dict[str, dict[str, Resources]], now: float,
                out: list[Effect]) -> None:
    olog = log.bind()  # one bind per allocation, not one per offer (the lazy proxy binds on each call)
    enabled = getattr(olog, "is_enabled_for", None)
    log_each = enabled(logging.INFO) if callable(enabled) else True
    for fid, per_agent in allocation.items():
        fw = core.frameworks.get(fid)
        batch: list[Dict] = []
        for aid, res in per_agent.items():
            agent = core.agents.get(aid)
            if agent is None:
                continue  # removed meanwhile: the allocator forgot it too
            if fw is None or not fw.active or not fw.connected or not agent.connected:
                out.append(ToAllocator("recover_resources", {"framework_id": fid, "agent_id": aid,
                                                              "resources": res, "now": now}))
                continue
            offer = Offer(offer_id=core.new_offer_id(), framework_id=fid, agent_id=aid, resources=res,
                          role=_offer_role(fw.roles, res))
            if core.config.offer_timeout > 0:
                offer.expires = now + core.config.offer_timeout
                core.schedule("offer", offer.offer_id, offer.expires)
            core.offers[offer.offer_id] = offer
            fw.offers.add(offer.offer_id)
            agent.offers.add(offer.offer_id)
            host, _, port = agent.pid.rpartition("@")[2].rpartition(":")
            batch.append({
                "id": {"value": offer.offer_id},
                "framework_id": {"value": fid},
                "agent_id": {"value": aid},
                "hostname": agent.hostname,
                "resources": res.to_dicts(),
                "attributes": list(agent.info.get("attributes") or []),
                "allocation_info": {"role": offer.role},
                "url": {"scheme": "http", "address": {"hostname": agent.hostname, "ip": host,
                                                      "port": int(port or 0)},
                        "path": "/" + agent.pid.partition("@")[0]},
            })
            if log_each:
                olog.info("offer_sent", offer_id=offer.offer_id, framework_id=fid, agent_id=aid, resources=str(res))
        if batch and fw is not None:
            for i in range(0, len(batch), MAX_OFFERS_PER_MESSAGE):
                out.append(Send(fw.pid, m.ResourceOffers(offers=batch[i:i + MAX_OFFERS_PER_MESSAGE])))


def _launch_tasks(operations: list[Dict]) -> tuple[list[Any], list[str]]:
    tasks: list[Any] = []
    unsupported: list[str] = []
    for op in operations:
        kind = op.get("type") if isinstance(op, dict) else None
        if kind == "LAUNCH":
            launch = op.get("launch") or {}
            infos = launch.get("task_infos") if isinstance(launch, dict) else None
            tasks.extend(infos if isinstance(infos, list) else [])
        else:
            unsupported.append(str(kind))
    return tasks, unsupported


def accept(core: MasterLedger, sender: str, msg: m.AcceptOffers, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is None:
        return
    fid = fw.framework_id
    task_infos, unsupported = _launch_tasks(list(msg.operations))
    if unsupported:
        log.warning("operations_unsupported", framework_id=fid, types=unsupported)
    error = "" if msg.offer_ids else "No offers specified"
    own: list[Offer] = []
    for oid in dict.fromkeys(msg.offer_ids):
        offer = core.offers.get(oid)
        if offer is None:
            error = error or f"Offer {oid} is no longer valid"
        elif offer.framework_id != fid:
            error = error or f"Offer {oid} has invalid framework"
        else:
            own.append(offer)
    if not error and len({o.agent_id for o in own}) > 1:
        error = "Aggregated offers must belong to one single agent"
    offered: dict[str, Resources] = {}
    for offer in own:
        core.remove_offer(offer, out, rescind=False, recover=False, now=now)
        offered[offer.agent_id] = offered.get(offer.agent_id, EMPTY) + offer.resources
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
        for aid, res in offered.items():
            out.append(ToAllocator("recover_resources", {"framework_id": fid, "agent_id": aid,
                                                          "resources": res, "now": now}))
        log.info("accept_invalid", framework_id=fid, error=text, tasks=len(task_infos))
        return
    aid = agent.agent_id
    remaining = offered.get(aid, EMPTY)
    known = set(fw.tasks)
    for info in task_infos:
        try:
            tid, res, exec_res, eid = validate_task(info, aid, known)
            need = res
            if eid and (fid, eid) not in agent.executors:
                need = res + exec_res
            if not remaining.contains(need):
                raise TaskInvalid(f"Task {tid} uses more resources {need} than available {remaining}")
        except TaskInvalid as e:
            bad_id = id_value(info.get("task_id")) if isinstance(info, dict) else ""
            core.send_status(fid, core.make_status(bad_id, "TASK_ERROR", reason="REASON_TASK_INVALID",
                                                   message=str(e), agent_id=aid, now=now), out)
            log.info("task_invalid", framework_id=fid, task_id=bad_id, error=str(e))
            continue
        remaining = remaining - need
        known.add(tid)
        if eid and (fid, eid) not in agent.executors:
            agent.executors[(fid, eid)] = exec_res
        task_dict = dict(info)
        task_dict["agent_id"] = {"value": aid}
        task = Task(task_id=tid, framework_id=fid, agent_id=aid, name=str(info.get("name", "")),
                    resources=res, executor_id=eid, info=without_data(task_dict))
        task.statuses.append(core.make_status(tid, "TASK_STAGING", agent_id=aid, now=now))
        fw.tasks[tid] = task
        agent.tasks[(fid, tid)] = task
        out.append(Send(agent.pid, m.RunTask(framework=dict(fw.info), framework_pid=fw.pid, task=task_dict)))
        log.info("task_launched", task_id=tid, framework_id=fid, agent_id=aid, resources=str(res))
    if remaining:
        out.append(ToAllocator("recover_resources", {
            "framework_id": fid, "agent_id": aid, "resources": remaining,
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
