"""Which process may send the agent what: its entitlement table (see actors/entitlement.py).

- From the current master only: registration answers (and a standby's
  redirect), pings, RunTask,
  KillTask, ShutdownFramework, ShutdownExecutor, ShutdownAgent, UpdateFramework,
  status update acknowledgements, framework messages for executors, CheckpointResources and
  ReconcileTasks (the tasks the master misses in a re-registration).
- From the registered executor only (the pid that registered as that
  framework's executor): its status updates and its messages to the framework.
- From anyone: executor registrations (checked against the launching
  executors by the task table) and resource usage requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.agent.tasks import TaskTable
from actors.entitlement import Entitlements, Rule, only_from
from transport import messages as m

__all__ = ["FROM_EXECUTOR", "FROM_MASTER", "agent_entitlements"]

FROM_MASTER: tuple[type, ...] = (
    m.AgentRegistered, m.AgentReregistered, m.PingAgent, m.RunTask, m.KillTask, m.ShutdownFramework,
    m.ShutdownAgent, m.UpdateFramework, m.StatusUpdateAcknowledgement, m.FrameworkToExecutor, m.MasterRedirect,
    m.ShutdownExecutor, m.CheckpointResources, m.ReconcileTasks,
)
FROM_EXECUTOR: tuple[type, ...] = (m.StatusUpdate, m.ExecutorToFramework)


def agent_entitlements(master: Callable[[], str | None], table: TaskTable) -> Entitlements:
    """``master()`` is the current master's pid text (None while there is none)."""

    def from_executor(sender: str, msg: Any) -> str | None:
        executor = table.executors.get((msg.framework_id, msg.executor_id))
        return None if executor is not None and executor.pid and executor.pid == sender else "not_that_executor"

    rules: dict[type, Rule] = {t: only_from(master, "not_current_master") for t in FROM_MASTER}
    rules.update({t: from_executor for t in FROM_EXECUTOR})
    return Entitlements("agent", rules)
