"""Unreachable agents in the master core: marking one, forgetting it, finding its tasks.

The one place where the master marks an agent it cannot reach unreachable
(Mesos' ``Master::markUnreachable``): used by the ping timeout (``agents.ping``)
and by the end of the re-registration window after a master failover
(``recovery``). The registry records the agent unreachable with the time
(``registry.unreachable``: id -> epoch seconds); once that is stored:

- every offer on it is rescinded and its resources leave the allocator;
- tasks of ``PARTITION_AWARE`` frameworks become TASK_UNREACHABLE, the others'
  TASK_LOST, both with reason REASON_AGENT_REMOVED, source SOURCE_MASTER and
  ``unreachable_time``; they are kept among the framework's unreachable tasks
  (newest ``--max_unreachable_tasks_per_framework``);
- every connected framework is told (``slaveLost``).

The agent is not shut down (Mesos 1.1+): when the partition heals it re-registers
under the same id (``agents.reregister``; its partition-aware tasks are reported
again, the others killed). Unreachable agents are forgotten after
``--registry_max_agent_age`` seconds, and beyond ``--registry_max_agent_count``
the oldest first (``collect_garbage``): their tasks are then unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from actors.master.model import TERMINAL_STATES, Agent, Effect, Framework, Send, Task
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["collect_garbage", "mark_unreachable", "next_expiry", "unreachable_task", "unreachable_time"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]


def mark_unreachable(core: MasterLedger, agent_id: str, now: float, out: list[Effect], *, reason: str) -> None:
    """Record ``agent_id`` unreachable in the registry; once stored, a registered agent's tasks and
    offers are dealt with (see the module's docstring) and a recovered one is forgotten."""
    if agent_id in core.marking_unreachable:
        return
    core.marking_unreachable.add(agent_id)
    when = now + core.epoch_offset

    def marked(out: list[Effect]) -> None:
        core.marking_unreachable.discard(agent_id)
        agent = core.agents.get(agent_id)
        if agent is not None:
            _take_out(core, agent, when, now, out, reason)
        else:
            core.recovered.pop(agent_id, None)
        for fw in core.frameworks.values():
            if fw.connected:
                out.append(Send(fw.pid, m.AgentLost(agent_id=agent_id)))
        log.warning("agent_unreachable", agent_id=agent_id, reason=reason, registered=agent is not None,
                    unreachable_agents=len(core.registrar.registry.unreachable))

    core.registrar.apply(lambda r: r.mark_unreachable(agent_id, when), marked, out)


def _take_out(core: MasterLedger, agent: Agent, when: float, now: float, out: list[Effect], reason: str) -> None:
    aid = agent.agent_id
    core.rescind_agent_offers(agent, now, out)
    for task in list(agent.tasks.values()):
        if task.state in TERMINAL_STATES:
            continue
        fw = core.frameworks.get(task.framework_id)
        state = "TASK_UNREACHABLE" if fw is not None and fw.partition_aware else "TASK_LOST"
        status = core.make_status(task.task_id, state, reason="REASON_AGENT_REMOVED",
                                  message=f"Agent {agent.hostname} is unreachable: {reason}", agent_id=aid,
                                  executor_id=task.executor_id, now=now)
        status["unreachable_time"] = when
        task.state = state
        task.record_status(status)
        core.observe("task_updated", task)
        if state == "TASK_LOST":
            core.terminal_counts[state] = core.terminal_counts.get(state, 0) + 1
        if fw is not None:
            if fw.tasks.get(task.task_id) is task:
                del fw.tasks[task.task_id]
            fw.unreachable.append(task)
            while len(fw.unreachable) > core.config.max_unreachable_tasks_per_framework:
                fw.unreachable.popleft()
            core.send_status(fw.framework_id, status, out)
    core.drop_agent(agent, out)
    core.observe("agent_removed", agent)


def unreachable_time(core: MasterLedger, agent_id: str) -> float | None:
    """When ``agent_id`` was marked unreachable (epoch seconds); None if it is not unreachable."""
    return core.registrar.registry.unreachable.get(agent_id) if agent_id else None


def unreachable_task(fw: Framework, task_id: str, agent_id: str = "", *, take: bool = True) -> Task | None:
    """The framework's task ``task_id`` kept as unreachable (on ``agent_id`` if given); ``take``: out of the record."""
    for task in fw.unreachable:
        if task.task_id == task_id and (not agent_id or task.agent_id == agent_id):
            if take:
                fw.unreachable.remove(task)
            return task
    return None


def next_expiry(core: MasterLedger) -> float | None:
    """When (the core's clock) the oldest unreachable agent is due to be forgotten."""
    oldest = next(iter(core.registrar.registry.unreachable.values()), None)
    if core.registrar.failed:  # nothing can be forgotten any more: the master is aborting
        return None
    return None if oldest is None else oldest - core.epoch_offset + core.config.registry_max_agent_age


def collect_garbage(core: MasterLedger, now: float, out: list[Effect]) -> None:
    """Forget the agents unreachable for ``--registry_max_agent_age`` or more, and the oldest beyond
    ``--registry_max_agent_count`` (Mesos' registry GC); their tasks leave the frameworks' records."""
    marks = core.registrar.registry.unreachable
    if not marks or core.registrar.failed:
        return
    horizon = now + core.epoch_offset - core.config.registry_max_agent_age
    excess = len(marks) - core.config.registry_max_agent_count
    gone: list[str] = []
    for aid, when in marks.items():  # oldest first
        if when > horizon and len(gone) >= excess:
            break
        gone.append(aid)
    if not gone:
        return

    def forget(registry: Any) -> None:
        for aid in gone:
            registry.unreachable.pop(aid, None)

    def forgotten(out: list[Effect]) -> None:
        lost = set(gone)
        for fw in core.frameworks.values():
            kept = [t for t in fw.unreachable if t.agent_id not in lost]
            if len(kept) != len(fw.unreachable):
                fw.unreachable.clear()
                fw.unreachable.extend(kept)
        log.info("unreachable_agents_forgotten", agents=len(gone), registry_max_agent_age=core.config.registry_max_agent_age,
                 registry_max_agent_count=core.config.registry_max_agent_count)

    core.registrar.apply(forget, forgotten, out)
