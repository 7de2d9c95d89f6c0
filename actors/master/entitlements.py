"""Which process may send the master what: its entitlement table (see actors/entitlement.py).

- Framework calls (accept, decline, kill, reconcile, acknowledge, revive,
  suppress, unregister, deactivate, messages to executors, executor
  shutdowns, requests) only
  from the framework's registered scheduler pid. A call naming a framework
  the master does not know passes on to its handler, which answers a removed
  framework with FrameworkError (as Mesos) and logs an unknown one.
- Agent messages (status updates, executor exits, executor messages, pongs,
  unregistration) only from a registered agent's pid, and only about that
  agent: an ``agent_id`` they name must be the sender's own. Which tasks and
  executors an update may touch is then the sender's own (``agent.tasks``).
- Registrations (frameworks and agents) and state requests may come from
  anyone; framework registrations pass the admission checks first
  (actors/master/admission.py).
"""

from __future__ import annotations

from typing import Any

from actors.entitlement import Entitlements, Rule
from actors.master.model import Agent, Framework, id_value
from transport import messages as m

__all__ = ["FRAMEWORK_CALLS", "AGENT_MESSAGES", "master_entitlements", "sender_agent"]

FRAMEWORK_CALLS: tuple[type, ...] = (
    m.UnregisterFramework, m.DeactivateFramework, m.AcceptOffers, m.DeclineOffers, m.ReviveOffers,
    m.SuppressOffers, m.ResourceRequest, m.KillTask, m.ReconcileTasks, m.StatusUpdateAcknowledgement,
    m.FrameworkToExecutor, m.ShutdownExecutor,
)
AGENT_MESSAGES: tuple[type, ...] = (
    m.StatusUpdate, m.ExecutorToFramework, m.ExitedExecutor, m.PongAgent, m.UnregisterAgent,
)


def sender_agent(agents: dict[str, Agent], agent_pids: dict[str, str], sender: str) -> Agent | None:
    """The registered agent whose pid is ``sender``."""
    aid = agent_pids.get(sender)
    return agents.get(aid) if aid is not None else None


def _claimed_agent_id(msg: Any) -> str:
    if isinstance(msg, m.StatusUpdate):
        status = msg.status if isinstance(msg.status, dict) else {}
        return msg.agent_id or id_value(status.get("agent_id"))
    return str(getattr(msg, "agent_id", "") or "")


def master_entitlements(frameworks: dict[str, Framework], agents: dict[str, Agent],
                        agent_pids: dict[str, str]) -> Entitlements:
    """The master's table over its own records (read, never changed, here)."""

    def from_scheduler(sender: str, msg: Any) -> str | None:
        fw = frameworks.get(msg.framework_id)
        if fw is None:
            return None  # unknown or removed: the handler answers
        return None if fw.pid == sender else "not_framework_scheduler"

    def from_agent(sender: str, msg: Any) -> str | None:
        agent = sender_agent(agents, agent_pids, sender)
        if agent is None:
            return "not_registered_agent"
        claimed = _claimed_agent_id(msg)
        return None if not claimed or claimed == agent.agent_id else "not_that_agent"

    rules: dict[type, Rule] = {t: from_scheduler for t in FRAMEWORK_CALLS}
    rules.update({t: from_agent for t in AGENT_MESSAGES})
    return Entitlements("master", rules)
