"""Agents in the master core: register, re-register (keeping tasks), pings, disconnection, removal.

An agent that misses too many pings is marked unreachable by actors/master/unreachable.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from actors.bounds import AttributesError, check_attributes
from actors.master.compact import compact_agent_resources, compact_task_info
from actors.master import unreachable
from actors.master.model import (
    TERMINAL_STATES,
    Agent,
    Effect,
    Framework,
    LinkTo,
    Send,
    Task,
    ToAllocator,
    allocation_role,
    id_value,
    is_partition_aware,
)
from actors.master.operations import rejoined
from actors.master.registry import AgentRecord, Registry
from actors.master.tasks import MAX_STATUSES_PER_TASK, without_data
from actors.master.unreachable import unreachable_task
from actors.resources import EMPTY, Resources, ResourcesError
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["disconnect", "ping", "pong", "register", "remove", "reregister", "unregister"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]


def _total(info: Dict) -> Resources:
    """The agent's total resources; ResourcesError (naming the value) for bad resources or attributes."""
    try:
        check_attributes(info.get("attributes") or [])
    except AttributesError as e:
        raise ResourcesError(f"bad attributes: {e}") from None
    items = info.get("resources")
    if isinstance(items, str):
        return Resources.parse(items)
    if not isinstance(items, list):
        raise ResourcesError(f"agent resources must be a list of resource dicts, got {items!r}")
    return Resources.from_dicts(items)


def _pings(core: MasterLedger) -> Dict:
    """How the agent is pinged (AgentRegistered/AgentReregistered), so it can tell when the master is lost."""
    return {"ping_interval": core.config.agent_ping_timeout, "max_ping_timeouts": core.config.max_agent_ping_timeouts}


def _attributes(info: Dict) -> Any:
    return info.get("attributes") or []


def _add(core: MasterLedger, agent: Agent, now: float, out: list[Effect]) -> None:
    agent.info["resources"] = compact_agent_resources(agent.info.get("resources"))
    rejoined(agent, out)  # its reservations and volumes
    core.agents[agent.agent_id] = agent
    core.agent_pids[agent.pid] = agent.agent_id
    agent.next_ping = now + core.config.agent_ping_timeout
    core.schedule("ping", agent.agent_id, agent.next_ping)
    agent.pong_pending, agent.missed_pings = False, 0
    out.append(LinkTo(agent.pid))
    out.append(ToAllocator("add_agent", {"agent_id": agent.agent_id, "total": agent.total,
                                         "used": agent.used_by(), "active": not agent.deactivated}))
    core.observe("agent_added", agent)


def register(core: MasterLedger, sender: str, msg: m.RegisterAgent, now: float, out: list[Effect]) -> None:
    """A new agent (one that has no id to re-register with), as Mesos' ``Master::registerSlave``.

    From the pid of a connected agent with the same resources and attributes it is a
    retry, answered with the same id. Otherwise the agent registered there before is
    gone (its exit is reported ahead of its successor's messages) or was another
    agent: it is removed, and this one gets a new id."""
    info = dict(msg.agent) if isinstance(msg.agent, dict) else {}
    try:
        total = core.shared_resources.intern(_total(info))
    except ResourcesError as e:
        out.append(Send(sender, m.ShutdownAgent(message=f"Invalid agent resources: {e}")))
        return
    known = core.agent_pids.get(sender)
    old = core.agents.get(known) if known is not None else None
    if old is not None:
        if old.connected and old.total == total and _attributes(old.info) == _attributes(info):
            out.append(Send(sender, m.AgentRegistered(agent_id=old.agent_id, master_info=core.master_info(),
                                                      **_pings(core))))
            return
        log.info("agent_replaced", agent_id=old.agent_id, pid=sender, connected=old.connected,
                 resources=str(total), old_resources=str(old.total))
        remove(core, old, now, out, message="a new agent registered at the same address")
    if sender in core.admitting:
        log.info("agent_registration_ignored", pid=sender, reason="its admission is being stored")
        return
    aid = core.new_agent_id()
    info["id"] = {"value": aid}
    record = AgentRecord(aid, str(info.get("hostname") or ""), sender)
    replaced = old.agent_id if old is not None else ""

    def admitted(out: list[Effect]) -> None:
        core.admitting.discard(sender)
        _add(core, Agent(agent_id=aid, info=info, pid=sender, total=total, registered_time=now), now, out)
        out.append(Send(sender, m.AgentRegistered(agent_id=aid, master_info=core.master_info(),
                                                  **_pings(core))))
        log.info("agent_registered", agent_id=aid, pid=sender, resources=str(total))

    def admit(registry: Registry) -> None:
        if replaced:
            registry.remove(replaced)
        registry.admit(record)

    core.admitting.add(sender)
    core.registrar.apply(admit, admitted, out)


def _task_from(core: MasterLedger, aid: str, data: Any) -> Task | None:
    if not isinstance(data, dict):
        return None
    tid, fid = id_value(data.get("task_id")), id_value(data.get("framework_id"))
    if not tid or not fid:
        return None
    try:
        res = Resources.from_dicts(data.get("resources") or [])
    except ResourcesError:
        res = EMPTY
    raw_state = data.get("state")
    state = raw_state if isinstance(raw_state, str) and raw_state else "TASK_STAGING"
    executor_id = id_value(data.get("executor_id")) or id_value((data.get("executor") or {}).get("executor_id"))
    task = Task(task_id=tid, framework_id=fid, agent_id=aid, name=str(data.get("name", "")), resources=res,
                state=state, executor_id=executor_id, info=compact_task_info(data), role=allocation_role(data))
    statuses = data.get("statuses")
    reported = [s for s in statuses if isinstance(s, dict)] if isinstance(statuses, list) else []
    for status in reported[-MAX_STATUSES_PER_TASK:]:
        task.record_status(without_data(status))
    if not task.statuses:
        task.record_status(core.make_status(tid, state, agent_id=aid))
    return task


def reregister(core: MasterLedger, sender: str, msg: m.ReregisterAgent, now: float, out: list[Effect]) -> None:
    """An agent with an id: recovered after a failover, known, unreachable (readmitted), or refused
    when the registry does not know it (with --zk) or marked it gone."""
    info = dict(msg.agent) if isinstance(msg.agent, dict) else {}
    aid = id_value(info.get("id"))
    if not aid:
        out.append(Send(sender, m.ShutdownAgent(message="Agent re-registering without an id")))
        return
    registry = core.registrar.registry
    refused = (f"Agent {aid} was removed; register afresh" if aid in core.removed_agents else
               f"Agent {aid} is marked gone" if aid in registry.gone else "")
    if refused:
        out.append(Send(sender, m.ShutdownAgent(message=refused)))
        return
    if aid in core.readmitting or aid in core.marking_unreachable:
        log.info("agent_reregistration_ignored", agent_id=aid, pid=sender, reason="a registry change is being stored")
        return
    agent = core.agents.get(aid)
    if agent is not None:
        _reregistered(core, sender, msg, info, agent, False, now, out)
        return
    if core.registrar.durable and aid not in registry.admitted and aid not in registry.unreachable:
        log.warning("agent_reregistration_refused", agent_id=aid, pid=sender, reason="not in the registry")
        out.append(Send(sender, m.ShutdownAgent(message=f"Agent {aid} is not in the registry; register afresh")))
        return
    try:
        total = core.shared_resources.intern(_total(info))
    except ResourcesError as e:
        out.append(Send(sender, m.ShutdownAgent(message=f"Invalid agent resources: {e}")))
        return
    agent = Agent(agent_id=aid, info=info, pid=sender, total=total, registered_time=now)
    was_unreachable = aid in registry.unreachable
    if aid in registry.admitted:  # recovered after a failover (or restarted in memory): nothing to store
        _reregistered(core, sender, msg, info, agent, False, now, out)
        return
    core.readmitting.add(aid)

    def readmitted(out: list[Effect]) -> None:
        core.readmitting.discard(aid)
        _reregistered(core, sender, msg, info, agent, was_unreachable, now, out)

    record = AgentRecord(aid, str(info.get("hostname") or ""), sender)
    core.registrar.apply(lambda r: r.mark_reachable(record), readmitted, out)


def _reregistered(core: MasterLedger, sender: str, msg: m.ReregisterAgent, info: Dict, agent: Agent,
                  was_unreachable: bool, now: float, out: list[Effect]) -> None:
    """Take the re-registering agent's report (Mesos' ``_reregisterSlave``). Tasks of frameworks that
    are not partition-aware on an agent that was unreachable are killed: they were reported lost."""
    aid = agent.agent_id
    core.recovered.pop(aid, None)
    if agent.connected and core.agents.get(aid) is agent:
        # Re-registering without a disconnection seen: start over in the allocator.
        core.rescind_agent_offers(agent, now, out)
        out.append(ToAllocator("remove_agent", {"agent_id": aid}))
    core.agent_pids.pop(agent.pid, None)
    agent.pid, agent.connected = sender, True
    agent.info.update({k: v for k, v in info.items() if k != "resources"})
    frameworks_info = {id_value(f.get("id")): f for f in msg.frameworks if isinstance(f, dict)}
    reported: set[tuple[str, str]] = set()
    shutdown: set[str] = set()
    reappeared: list[Task] = []  # partition-aware tasks back from an unreachable agent
    for data in msg.tasks:
        task = _task_from(core, aid, data)
        if task is None:
            continue
        key = (task.framework_id, task.task_id)
        reported.add(key)
        if task.framework_id in core.removed_frameworks:
            shutdown.add(task.framework_id)
            continue
        if key in agent.tasks or task.state in TERMINAL_STATES:
            continue
        fw = core.frameworks.get(task.framework_id)
        kept = unreachable_task(fw, task.task_id, aid) if fw is not None else None
        partitioned = was_unreachable or kept is not None
        aware = fw.partition_aware if fw is not None else is_partition_aware(
            frameworks_info.get(task.framework_id) or {})
        if (partitioned and not aware) or (
                fw is not None and any(t.task_id == task.task_id and t.agent_id == aid for t in fw.completed)):
            # The framework was already told this task ended (TASK_LOST when the agent became
            # unreachable or disconnected): it is not brought back; the agent is told to kill it.
            out.append(Send(sender, m.KillTask(framework_id=task.framework_id, task_id=task.task_id, agent_id=aid)))
            log.info("task_killed_on_reregistration", task_id=task.task_id, framework_id=task.framework_id)
            continue
        if partitioned:
            reappeared.append(task)
        if fw is None:
            finfo = dict(frameworks_info.get(task.framework_id) or {"name": "", "user": ""})
            finfo["id"] = {"value": task.framework_id}
            fw = Framework(framework_id=task.framework_id, info=finfo, pid="", registered_time=now,
                           connected=False, active=False, recovered=True)
            core.frameworks[fw.framework_id] = fw
        agent.tasks[key] = fw.tasks[task.task_id] = task
        log.info("task_recovered", task_id=task.task_id, framework_id=task.framework_id, agent_id=aid)
    _reconcile_missing(agent, reported, sender, out)
    _add(core, agent, now, out)
    for task in reappeared:  # as Mesos: the framework hears the task's state again, from the master
        status = core.make_status(task.task_id, task.state, reason="REASON_AGENT_REREGISTERED",
                                  message=f"Agent {agent.hostname} reregistered", agent_id=aid,
                                  executor_id=task.executor_id, now=now)
        task.record_status(status)
        core.observe("task_updated", task)
        core.send_status(task.framework_id, status, out)
    for fid in sorted(shutdown):
        out.append(Send(sender, m.ShutdownFramework(framework_id=fid)))
    kills, agent.pending_kills = agent.pending_kills, {}
    for (fid, tid), policy in kills.items():  # killed while the agent was down: kill it now
        task = agent.tasks.get((fid, tid))
        if task is not None and task.state not in TERMINAL_STATES:
            out.append(Send(sender, m.KillTask(framework_id=fid, task_id=tid, agent_id=aid, kill_policy=policy)))
            log.info("task_kill_resent", task_id=tid, framework_id=fid, agent_id=aid)
    out.append(Send(sender, m.AgentReregistered(agent_id=aid, master_info=core.master_info(),
                                                **_pings(core))))
    for fid in sorted({f for f, _ in agent.tasks}):
        fw = core.frameworks.get(fid)
        if fw is not None and fw.connected:
            out.append(Send(sender, m.UpdateFramework(framework_id=fid, framework_pid=fw.pid)))
    log.info("agent_reregistered", agent_id=aid, pid=sender, tasks=len(agent.tasks), was_unreachable=was_unreachable)


def _reconcile_missing(agent: Agent, reported: set[tuple[str, str]], sender: str, out: list[Effect]) -> None:
    """Tasks we know on the agent that its report leaves out: a launch lost (the agent failed over)
    or one that crossed the report on the wire (the agent has it). Only the agent can tell, so as
    Mesos it is asked (ReconcileTasks) and answers, through its status update manager, TASK_LOST
    (TASK_DROPPED when partition-aware) for those it does not know: one terminal update, from it."""
    missing: dict[str, list[Dict]] = {}
    for (fid, tid), task in agent.tasks.items():
        if (fid, tid) not in reported and task.state not in TERMINAL_STATES:
            missing.setdefault(fid, []).append({"task_id": {"value": tid}, "state": task.state,
                                                "agent_id": {"value": agent.agent_id}})
    for fid, statuses in sorted(missing.items()):
        log.info("tasks_reconciled_with_agent", agent_id=agent.agent_id, framework_id=fid,
                 task_ids=[id_value(s["task_id"]) for s in statuses])
        out.append(Send(sender, m.ReconcileTasks(framework_id=fid, statuses=statuses)))


def unregister(core: MasterLedger, sender: str, msg: m.UnregisterAgent, now: float, out: list[Effect]) -> None:
    agent = core.agents.get(msg.agent_id)
    if agent is None or agent.pid != sender:
        log.warning("agent_unregister_ignored", agent_id=msg.agent_id, sender=sender)
        return

    def removed(out: list[Effect]) -> None:
        if core.agents.get(agent.agent_id) is agent:
            remove(core, agent, now, out, message="Agent unregistered")

    core.registrar.apply(lambda r: r.remove(agent.agent_id), removed, out)


def pong(core: MasterLedger, sender: str, msg: m.PongAgent, now: float, out: list[Effect]) -> None:
    aid = core.agent_pids.get(sender)
    agent = core.agents.get(aid) if aid else None
    if agent is not None:
        agent.pong_pending, agent.missed_pings = False, 0


def ping(core: MasterLedger, agent: Agent, now: float, out: list[Effect]) -> None:
    """Due: count a missed pong, mark the agent unreachable after too many, else ping again."""
    if agent.pong_pending:
        agent.missed_pings += 1
        log.info("agent_ping_missed", agent_id=agent.agent_id, missed=agent.missed_pings)
        if agent.missed_pings >= core.config.max_agent_ping_timeouts:
            unreachable.mark_unreachable(core, agent.agent_id, now, out, reason="health check timed out")
            return
    agent.pong_pending = True
    agent.next_ping = now + core.config.agent_ping_timeout
    core.schedule("ping", agent.agent_id, agent.next_ping)
    out.append(Send(agent.pid, m.PingAgent(connected=agent.connected)))


def disconnect(core: MasterLedger, agent: Agent, now: float, out: list[Effect]) -> None:
    """The agent's process is gone: kept until pings fail, but not offered (Mesos' ``Master::exited``).

    Checkpointing frameworks keep their tasks there (the agent may come back);
    every other framework is removed from the agent at once: its tasks become
    TASK_LOST (REASON_AGENT_DISCONNECTED) and its executors are dropped."""
    if not agent.connected:
        return
    agent.connected = False
    core.rescind_agent_offers(agent, now, out)
    out.append(ToAllocator("remove_agent", {"agent_id": agent.agent_id}))
    log.info("agent_disconnected", agent_id=agent.agent_id)
    for fid in sorted({f for f, _ in agent.tasks} | {f for f, _ in agent.executors}):
        fw = core.frameworks.get(fid)
        if fw is not None and not _checkpointing(fw):
            _remove_framework_from(core, agent, fw, now, out)


def _checkpointing(fw: Framework) -> bool:
    """``checkpoint`` in the FrameworkInfo; a framework recovered without one is assumed to (as Mesos does)."""
    if "checkpoint" not in fw.info:
        return fw.recovered
    return fw.info.get("checkpoint") is True


def _remove_framework_from(core: MasterLedger, agent: Agent, fw: Framework, now: float, out: list[Effect]) -> None:
    """Mesos' ``removeFramework(slave, framework)``: the framework's tasks there lost, its executors gone.

    The agent is out of the allocator while disconnected; what these held is
    not in ``agent.used_by()`` when the agent is added back, so it is recovered."""
    aid, fid = agent.agent_id, fw.framework_id
    log.info("framework_removed_from_agent", framework_id=fid, agent_id=aid, reason="framework not checkpointing")
    for (task_fid, _), task in list(agent.tasks.items()):
        if task_fid != fid or task.state in TERMINAL_STATES:
            continue
        status = core.make_status(task.task_id, "TASK_LOST", reason="REASON_AGENT_DISCONNECTED",
                                  message=f"Agent {agent.hostname} disconnected", agent_id=aid,
                                  executor_id=task.executor_id, now=now)
        core.update_task(task, status, now, out, recover=False)
        core.send_status(fid, status, out)
    for key in [k for k in agent.tasks if k[0] == fid]:
        del agent.tasks[key]
    agent.drop_executors(fid)


def remove(core: MasterLedger, agent: Agent, now: float, out: list[Effect], *, message: str, shutdown: bool = False,
           gone_state: str = "TASK_GONE") -> None:
    """Remove the agent for good: its tasks gone (``gone_state``, or TASK_LOST if the framework is not
    partition-aware), its offers rescinded, every framework told (slaveLost); ``shutdown``: it is told
    to shut down. An agent that is only out of reach is marked unreachable instead
    (actors/master/unreachable.py)."""
    aid = agent.agent_id
    core.rescind_agent_offers(agent, now, out)
    for task in list(agent.tasks.values()):
        if task.state in TERMINAL_STATES:
            continue
        fw = core.frameworks.get(task.framework_id)
        pa = fw is not None and fw.partition_aware
        state = gone_state if pa else "TASK_LOST"
        status = core.make_status(task.task_id, state, reason="REASON_AGENT_REMOVED",
                                  message=f"Agent {aid} removed: {message}", agent_id=aid, now=now)
        core.update_task(task, status, now, out, recover=False)
        if task.state != state:
            task.state = state
        fw_tasks = fw.tasks if fw is not None else {}
        if fw is not None and fw_tasks.get(task.task_id) is task:
            del fw_tasks[task.task_id]
            fw.add_completed(task, core.config)
        core.send_status(task.framework_id, status, out)
    core.drop_agent(agent, out)
    for fw in core.frameworks.values():
        if fw.connected:
            out.append(Send(fw.pid, m.AgentLost(agent_id=aid)))
    if shutdown:
        out.append(Send(agent.pid, m.ShutdownAgent(message=f"Agent removed: {message}")))
    core.removed_agents.add(aid)
    core.observe("agent_removed", agent)
    log.info("agent_removed", agent_id=aid, reason=message)

