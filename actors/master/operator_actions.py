"""The master core's side of operator actions that change it (the v1 operator API's calls).

Pure, as the rest of the core: each takes the ledger, ``now`` and the effects list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from actors.master.agents import remove
from actors.master.model import Effect, Send
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["mark_gone"]

log = structlog.get_logger(__name__)


def mark_gone(core: MasterLedger, agent_id: str, now: float, out: list[Effect]) -> None:
    """Mesos' ``markAgentGone`` (the operator's MARK_AGENT_GONE): the registry records the agent gone;
    once stored, a registered agent is removed (tasks TASK_GONE_BY_OPERATOR for partition-aware
    frameworks, TASK_LOST for the others, told to shut down), a recovered one forgotten, and it is
    refused should it come back."""
    when = now + core.epoch_offset

    def marked(out: list[Effect]) -> None:
        agent = core.agents.get(agent_id)
        if agent is not None:
            remove(core, agent, now, out, message="marked gone by the operator", shutdown=True,
                   gone_state="TASK_GONE_BY_OPERATOR")
        elif core.recovered.pop(agent_id, None) is not None:
            for fw in core.frameworks.values():
                if fw.connected:
                    out.append(Send(fw.pid, m.AgentLost(agent_id=agent_id)))
        log.info("agent_marked_gone", agent_id=agent_id)

    core.registrar.apply(lambda r: r.mark_gone(agent_id, when), marked, out)
