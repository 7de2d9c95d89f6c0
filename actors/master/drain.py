"""Agent draining and deactivation in the master core (Mesos 1.9+ semantics).

Pure. ``deactivate``: the agent is offered nothing (its outstanding offers are
rescinded) and its tasks keep running. ``drain``: deactivated too, and every
task on it is killed, with the task's kill policy grace period (or, without
one, the agents' default 3 s) capped by ``max_grace_period``;
``drain_info.state`` is ``DRAINING`` until no task is left, then ``DRAINED``
(and with ``mark_gone`` the agent is then removed, its tasks gone, as an
operator's ``MARK_AGENT_GONE``). The kills' updates say
``REASON_AGENT_DRAINING`` (and TASK_KILLED is ``TASK_GONE_BY_OPERATOR`` with
``mark_gone``), as Mesos' agent rewrites them. ``reactivate`` ends both. The
state shows ``deactivated`` and ``drain_info`` per agent. Like the rest of the
master's records, this lasts as long as the master does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from actors.master import agents, tasks
from actors.master.model import TERMINAL_STATES, Agent, Effect, Send, ToAllocator
from actors.master.operator_actions import mark_gone
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["DrainError", "deactivate", "drain", "drained_check", "grace_seconds", "kill_all", "reactivate",
           "reregister", "status_update"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
DEFAULT_TASK_GRACE = 3.0  # the agent's --task_kill_grace_period default


class DrainError(ValueError):
    """A refused drain / deactivate / reactivate; the message names the agent and the reason."""


def grace_seconds(value: Any) -> float | None:
    """A v1 Duration ``{"nanoseconds": n}`` or seconds -> seconds (None: absent); DrainError if bad."""
    if value is None:
        return None
    if isinstance(value, dict) and "nanoseconds" in value:
        value = value["nanoseconds"]
        scale = 1e9
    else:
        scale = 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise DrainError(f"max_grace_period must be a duration >= 0, got {value!r}")
    return float(value) / scale


def _agent(core: MasterLedger, agent_id: str) -> Agent:
    agent = core.agents.get(agent_id)
    if agent is None:
        raise DrainError(f"no agent {agent_id!r} is registered")
    return agent


def _stop_offers(core: MasterLedger, agent: Agent, now: float, out: list[Effect]) -> None:
    if not agent.deactivated:
        agent.deactivated = True
        out.append(ToAllocator("deactivate_agent", {"agent_id": agent.agent_id}))
    for oid in list(agent.offers):
        offer = core.offers.get(oid)
        if offer is not None:
            core.remove_offer(offer, out, rescind=True, recover=True, now=now)


def deactivate(core: MasterLedger, agent_id: str, now: float, out: list[Effect]) -> None:
    agent = _agent(core, agent_id)
    _stop_offers(core, agent, now, out)
    log.info("agent_deactivated", agent_id=agent_id)


def _task_grace(info: Mapping[str, Any], cap: float | None) -> Dict:
    """The kill policy of a drain's kill: the task's grace period, capped; a task without one
    has the agents' default (``--task_kill_grace_period``'s, 3 s), capped."""
    if cap is None:
        return {}
    policy = info.get("kill_policy") if isinstance(info.get("kill_policy"), dict) else {}
    own = grace_seconds((policy or {}).get("grace_period"))
    grace = min(DEFAULT_TASK_GRACE if own is None else own, cap)
    return {"grace_period": {"nanoseconds": int(grace * 1e9)}}


def drain(core: MasterLedger, agent_id: str, max_grace_period: Any, mark_gone: Any, now: float,
          out: list[Effect]) -> None:
    agent = _agent(core, agent_id)
    cap = grace_seconds(max_grace_period)
    if not isinstance(mark_gone, bool):
        raise DrainError(f"mark_gone must be true or false, got {mark_gone!r}")
    if agent.drain_info is not None and agent.drain_info["state"] == "DRAINED" and not mark_gone:
        return
    config: Dict = {"mark_gone": mark_gone}
    if cap is not None:
        config["max_grace_period"] = {"nanoseconds": int(cap * 1e9)}
    agent.drain_info = {"state": "DRAINING", "config": config}
    _stop_offers(core, agent, now, out)
    kill_all(agent, out)
    log.info("agent_draining", agent_id=agent_id, max_grace_period=cap, mark_gone=mark_gone,
             tasks=len(agent.tasks))
    drained_check(core, agent, now, out)


def kill_all(agent: Agent, out: list[Effect]) -> None:
    """Kill every live task of a draining agent (again, e.g. after it re-registered)."""
    if agent.drain_info is None or not agent.connected:
        return
    cap = grace_seconds(agent.drain_info["config"].get("max_grace_period"))
    for (fid, tid), task in agent.tasks.items():
        if task.state not in TERMINAL_STATES:
            out.append(Send(agent.pid, m.KillTask(framework_id=fid, task_id=tid, agent_id=agent.agent_id,
                                                  kill_policy=_task_grace(task.info, cap))))


def drained_check(core: MasterLedger, agent: Agent, now: float, out: list[Effect]) -> None:
    """DRAINING -> DRAINED once no live task is left on the agent (then marked gone if asked)."""
    info = agent.drain_info
    if info is None or info["state"] != "DRAINING":
        return
    if any(t.state not in TERMINAL_STATES for t in agent.tasks.values()):
        return
    info["state"] = "DRAINED"
    log.info("agent_drained", agent_id=agent.agent_id)
    if info["config"].get("mark_gone"):
        mark_gone(core, agent.agent_id, now, out)  # through the registry, as MARK_AGENT_GONE


def status_update(core: MasterLedger, sender: str, msg: m.StatusUpdate, now: float, out: list[Effect]) -> None:
    """``tasks.status_update``; on a draining agent a kill's update says REASON_AGENT_DRAINING
    (TASK_KILLED is TASK_GONE_BY_OPERATOR when the agent is to be marked gone), and the last
    task's end makes the agent DRAINED."""
    aid = core.agent_pids.get(sender)
    agent = core.agents.get(aid) if aid is not None else None
    status = msg.status if isinstance(msg.status, dict) else {}
    if agent is not None and agent.drain_info is not None and status.get("state") in ("TASK_KILLING", "TASK_KILLED"):
        status = dict(status, reason="REASON_AGENT_DRAINING")
        if status["state"] == "TASK_KILLED" and agent.drain_info["config"].get("mark_gone"):
            status["state"] = "TASK_GONE_BY_OPERATOR"
        msg = dataclasses.replace(msg, status=status)
    tasks.status_update(core, sender, msg, now, out)
    if agent is not None and agent.agent_id in core.agents:
        drained_check(core, agent, now, out)


def reregister(core: MasterLedger, sender: str, msg: m.ReregisterAgent, now: float, out: list[Effect]) -> None:
    """``agents.reregister``; a draining agent's tasks are killed again (the kills may have been lost)."""
    agents.reregister(core, sender, msg, now, out)
    aid = core.agent_pids.get(sender)
    agent = core.agents.get(aid) if aid is not None else None
    if agent is not None and agent.drain_info is not None:
        kill_all(agent, out)
        drained_check(core, agent, now, out)


def reactivate(core: MasterLedger, agent_id: str, now: float, out: list[Effect]) -> None:
    """Offers again; a drain in progress stops (tasks already killed stay so)."""
    agent = _agent(core, agent_id)
    agent.drain_info = None
    if agent.deactivated:
        agent.deactivated = False
        out.append(ToAllocator("activate_agent", {"agent_id": agent_id}))
    log.info("agent_reactivated", agent_id=agent_id)
