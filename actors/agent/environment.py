"""The MESOS_* environment of an executor (pure)."""

from __future__ import annotations

from typing import Any

from actors.agent.config import AgentConfig
from actors.agent.tasks import ExecutorEntry

__all__ = ["executor_environment"]


def executor_environment(config: AgentConfig, executor: ExecutorEntry, framework_info: dict[str, Any],
                         agent_pid: str, agent_id: str) -> dict[str, str]:
    """Variables for the executor process. Durations are in seconds (e.g. ``60.0``).

    Order of precedence (last wins): the agent's ``--executor_environment``, the
    MESOS_* variables, the executor's ``command.environment``."""
    env = config.executor_env()
    env.update({
        "MESOS_FRAMEWORK_ID": executor.framework_id,
        "MESOS_EXECUTOR_ID": executor.executor_id,
        "MESOS_CONTAINER_ID": executor.container_id,
        "MESOS_DIRECTORY": executor.directory,
        "MESOS_SANDBOX": executor.directory,
        "MESOS_AGENT_PID": agent_pid,
        "MESOS_SLAVE_PID": agent_pid,
        "MESOS_AGENT_ID": agent_id,
        "MESOS_SLAVE_ID": agent_id,
        "MESOS_CHECKPOINT": "1" if framework_info.get("checkpoint") else "0",
        "MESOS_EXECUTOR_REGISTRATION_TIMEOUT": str(config.executor_registration_timeout),
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": str(config.executor_shutdown_grace_period),
        "MESOS_KILL_GRACE_PERIOD": str(config.task_kill_grace_period),
        "MESOS_RECOVERY_TIMEOUT": "900.0",
    })
    command = executor.info.get("command") or {}
    for variable in (command.get("environment") or {}).get("variables") or []:
        if isinstance(variable, dict) and isinstance(variable.get("name"), str):
            env[variable["name"]] = str(variable.get("value", ""))
    return env
