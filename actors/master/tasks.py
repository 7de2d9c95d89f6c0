"""Tasks in the master core: status updates, acknowledgements, kill, reconciliation, messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from actors.master.entitlements import sender_agent
from actors.master.model import TERMINAL_STATES, Effect, Framework, Send, Task, ToAllocator, id_value
from actors.master.unreachable import unreachable_task
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = [
    "MAX_STATUSES_PER_TASK",
    "acknowledge",
    "executor_to_framework",
    "exited_executor",
    "framework_to_executor",
    "kill",
    "reconcile",
    "reconcile_one",
    "shutdown_executor",
    "status_update",
    "without_data",
]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
#: Statuses kept per task (the latest): an agent's updates of a running task do not pile up.
MAX_STATUSES_PER_TASK = 100


def without_data(info: Dict) -> Dict:
    """A copy of a TaskInfo or TaskStatus without ``data``: the master stores none (as Mesos' Task),
    so a framework's payloads are carried to the agent and the framework, never kept."""
    return {k: v for k, v in info.items() if k != "data"}


def status_update(core: MasterLedger, sender: str, msg: m.StatusUpdate, now: float, out: list[Effect]) -> None:
    status = msg.status if isinstance(msg.status, dict) else {}
    agent = sender_agent(core.agents, core.agent_pids, sender)  # entitled: a registered agent
    if agent is None:
        return
    tid = id_value(status.get("task_id"))
    task = agent.tasks.get((msg.framework_id, tid))
    fw = core.frameworks.get(msg.framework_id)
    if task is not None:
        ended_before = task.state in TERMINAL_STATES
        # A resent update whose task has ended since: free its resources now (Mesos' latest_state).
        latest = msg.latest_state if msg.latest_state in TERMINAL_STATES else None
        core.update_task(task, without_data(status), now, out, state=latest)
        task.statuses = task.statuses[-MAX_STATUSES_PER_TASK:]
        if not ended_before and task.state in TERMINAL_STATES:
            if status.get("state") in TERMINAL_STATES:
                task.unacknowledged = msg.uuid
            else:
                task.awaiting_end = True
    elif fw is not None and status.get("state") in TERMINAL_STATES:
        _terminal_update_arrived(fw, agent.agent_id, tid, without_data(status), msg.uuid)
    log.info("status_update", task_id=tid, framework_id=msg.framework_id, state=status.get("state"),
             forwarded=bool(fw and fw.connected))
    if fw is not None and fw.connected:
        forward = msg if msg.agent_id else m.StatusUpdate(
            framework_id=msg.framework_id, status=msg.status, uuid=msg.uuid, agent_id=agent.agent_id,
            executor_id=msg.executor_id, timestamp=msg.timestamp)
        out.append(Send(fw.pid, forward))


def _terminal_update_arrived(fw: Framework, agent_id: str, tid: str, status: Dict, uuid: bytes) -> None:
    """The terminal update of a task that ended by an earlier update's latest_state: it
    is now the update whose acknowledgement lets the master forget the task."""
    for task in reversed(fw.completed):
        if task.task_id == tid and task.agent_id == agent_id and task.awaiting_end:
            task.awaiting_end = False
            task.unacknowledged = uuid
            task.state = str(status.get("state"))
            task.record_status(status)
            task.statuses = task.statuses[-MAX_STATUSES_PER_TASK:]
            return


def _to_agent(core: MasterLedger, sender: str,
              msg: m.StatusUpdateAcknowledgement | m.FrameworkToExecutor | m.ShutdownExecutor,
              out: list[Effect], event: str, **fields: Any) -> None:
    """Relay a framework's message to its connected agent ``msg.agent_id``; else log ``event`` and drop it."""
    if core.framework_from(sender, msg.framework_id, out) is None:
        return
    agent = core.agents.get(msg.agent_id)
    if agent is None or not agent.connected:
        log.info(event, agent_id=msg.agent_id, **fields)
        return
    out.append(Send(agent.pid, msg))


def acknowledge(core: MasterLedger, sender: str, msg: m.StatusUpdateAcknowledgement, now: float,
                out: list[Effect]) -> None:
    fw = core.frameworks.get(msg.framework_id)
    if fw is not None and msg.uuid:
        for task in reversed(fw.completed):
            if task.task_id == msg.task_id and task.unacknowledged == msg.uuid:
                task.unacknowledged = b""  # the end is known to the framework: forget the task
                break
    _to_agent(core, sender, msg, out, "ack_agent_unavailable", task_id=msg.task_id)


def _latest(core: MasterLedger, task: Task, now: float) -> Dict:
    last = task.statuses[-1] if task.statuses else {}
    status = {k: v for k, v in last.items() if k not in ("uuid",)}
    status.update(core.make_status(task.task_id, task.state, reason="REASON_RECONCILIATION",
                                   message="Reconciliation: latest task status", agent_id=task.agent_id,
                                   executor_id=task.executor_id, now=now))
    return status


def reconcile_one(core: MasterLedger, fw: Framework, tid: str, aid: str, now: float) -> Dict | None:
    """The master's answer for one task (Mesos' explicit reconciliation rules); None when it must
    not answer yet: the task's agent is recovered from the registry and may still re-register."""
    task = next((t for t in fw.known_tasks() if t.task_id == tid), None)
    if task is not None:
        return _latest(core, task, now)
    pa = fw.partition_aware
    registry = core.registrar.registry
    kept = unreachable_task(fw, tid, aid, take=False)
    where = kept.agent_id if kept is not None else aid
    if aid and aid in core.recovered:  # (also while its unreachable mark is being stored)
        log.info("reconcile_deferred", task_id=tid, agent_id=aid, reason="agent not re-registered yet")
        return None
    if where and where in registry.unreachable:
        state, text = ("TASK_UNREACHABLE" if pa else "TASK_LOST"), "Reconciliation: agent is unreachable"
    elif aid and aid in core.agents:
        state, text = ("TASK_GONE" if pa else "TASK_LOST"), "Reconciliation: task is unknown to the agent"
    elif aid and aid in registry.gone:
        state, text = ("TASK_GONE_BY_OPERATOR" if pa else "TASK_LOST"), "Reconciliation: agent is gone"
    else:
        state, text = ("TASK_UNKNOWN" if pa else "TASK_LOST"), "Reconciliation: task is unknown"
    status = core.make_status(tid, state, reason="REASON_RECONCILIATION", message=text, agent_id=where, now=now)
    if state in ("TASK_UNREACHABLE", "TASK_LOST") and where in registry.unreachable:
        status["unreachable_time"] = registry.unreachable[where]
    return status


def reconcile(core: MasterLedger, sender: str, msg: m.ReconcileTasks, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is None:
        return
    if not msg.statuses:
        known = fw.known_tasks()
        for task in known:
            core.send_status(fw.framework_id, _latest(core, task, now), out)
        log.info("reconcile_implicit", framework_id=fw.framework_id, tasks=len(known))
        return
    for status in msg.statuses:
        if not isinstance(status, dict):
            continue
        tid = id_value(status.get("task_id"))
        if tid:
            answer = reconcile_one(core, fw, tid, id_value(status.get("agent_id")), now)
            if answer is not None:
                core.send_status(fw.framework_id, answer, out)
    log.info("reconcile_explicit", framework_id=fw.framework_id, tasks=len(msg.statuses))


def kill(core: MasterLedger, sender: str, msg: m.KillTask, now: float, out: list[Effect]) -> None:
    fw = core.framework_from(sender, msg.framework_id, out)
    if fw is None:
        return
    task = fw.tasks.get(msg.task_id)
    if task is None:
        log.info("kill_unknown_task", task_id=msg.task_id, framework_id=fw.framework_id)
        answer = reconcile_one(core, fw, msg.task_id, msg.agent_id, now)
        if answer is not None:
            core.send_status(fw.framework_id, answer, out)
        return
    agent = core.agents.get(task.agent_id)
    if agent is None or not agent.connected:
        log.info("kill_agent_disconnected", task_id=msg.task_id, agent_id=task.agent_id,
                 retried=agent is not None)
        if agent is not None:  # kept: sent when the agent re-registers
            agent.pending_kills[(fw.framework_id, msg.task_id)] = msg.kill_policy
        return
    out.append(Send(agent.pid, m.KillTask(framework_id=fw.framework_id, task_id=msg.task_id,
                                          agent_id=agent.agent_id, kill_policy=msg.kill_policy)))


def framework_to_executor(core: MasterLedger, sender: str, msg: m.FrameworkToExecutor, now: float,
                          out: list[Effect]) -> None:
    _to_agent(core, sender, msg, out, "framework_message_dropped", reason="agent unavailable")


def shutdown_executor(core: MasterLedger, sender: str, msg: m.ShutdownExecutor, now: float,
                      out: list[Effect]) -> None:
    """A v1 SHUTDOWN: the agent shuts the framework's executor down (its tasks end, it exits)."""
    _to_agent(core, sender, msg, out, "executor_shutdown_dropped", executor_id=msg.executor_id,
              reason="agent unavailable")


def executor_to_framework(core: MasterLedger, sender: str, msg: m.ExecutorToFramework, now: float,
                          out: list[Effect]) -> None:
    if sender_agent(core.agents, core.agent_pids, sender) is None:
        return
    fw = core.frameworks.get(msg.framework_id)
    if fw is None or not fw.connected:
        log.info("executor_message_dropped", framework_id=msg.framework_id, reason="framework unavailable")
        return
    out.append(Send(fw.pid, msg))


def exited_executor(core: MasterLedger, sender: str, msg: m.ExitedExecutor, now: float, out: list[Effect]) -> None:
    agent = sender_agent(core.agents, core.agent_pids, sender)
    if agent is None:
        return
    record = agent.executor_infos.get((msg.framework_id, msg.executor_id))
    res = agent.drop_executors(msg.framework_id, msg.executor_id)
    if res:
        out.append(ToAllocator("recover_resources", {"framework_id": msg.framework_id, "agent_id": agent.agent_id,
                                                      "resources": res, "now": now,
                                                      "role": record.role if record is not None else None}))
    fw = core.frameworks.get(msg.framework_id)
    if fw is not None and fw.connected:
        out.append(Send(fw.pid, msg))
