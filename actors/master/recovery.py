"""A newly elected master's recovery from the registry (Mesos' ``Master::recover``).

The agents the registry admitted are *recovered*: the master knows their ids
but not their tasks, and waits ``--agent_reregister_timeout`` for each to
re-register. Until then reconciliation says nothing about a task on such an
agent (it may still be running); an agent still missing at the deadline is
marked unreachable (``unreachable.mark_unreachable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from actors.master.unreachable import mark_unreachable
from actors.master.model import Effect
from actors.master.registry import Registry

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["recover", "reregister_timeout"]

log = structlog.get_logger(__name__)


def recover(core: MasterLedger, data: bytes | None, now: float) -> list[Effect]:
    """Take over the registry stored as ``data`` (None: none yet); RegistryError if it is unreadable."""
    registry = Registry.decode(data)
    core.registrar.registry = registry
    core.recovered = dict(registry.admitted)
    out: list[Effect] = []
    if core.recovered:
        core.recovered_deadline = now + core.config.agent_reregister_timeout
        core.schedule("recovered", "", core.recovered_deadline)
    log.info("registry_recovered", admitted=len(registry.admitted), unreachable=len(registry.unreachable),
             gone=len(registry.gone), agent_reregister_timeout=core.config.agent_reregister_timeout)
    return out


def reregister_timeout(core: MasterLedger, now: float, out: list[Effect]) -> None:
    """The re-registration window is over: every recovered agent still missing is marked unreachable."""
    core.recovered_deadline = None
    missing = list(core.recovered)
    if missing:
        log.warning("recovered_agents_timed_out", agents=len(missing),
                    agent_reregister_timeout=core.config.agent_reregister_timeout)
    core.recovery_removals += len(missing)
    for aid in missing:
        mark_unreachable(core, aid, now, out,
                         reason="did not re-register within --agent_reregister_timeout after master failover")
