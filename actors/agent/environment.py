"""The MESOS_* environment of an executor (pure), as Mesos' agent writes it."""

from __future__ import annotations

from typing import Any

from actors.agent.config import AgentConfig
from actors.agent.tasks import ExecutorEntry
from transport.curve import CurveKeys
from transport.errors import PIDError
from transport.pid import PID

__all__ = ["executor_environment", "format_duration"]

# Mesos' Duration text: the largest unit the value reaches (5secs, 15mins, 100ms).
_UNITS = (("weeks", 604800.0), ("days", 86400.0), ("hrs", 3600.0), ("mins", 60.0),
          ("secs", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))


def format_duration(seconds: float) -> str:
    """Seconds as Mesos prints a Duration: ``5secs``, ``15mins``, ``1.5mins``, ``100ms``, ``0ns``."""
    if seconds < 0:
        raise ValueError(f"a duration must be >= 0, got {seconds!r}")
    for name, size in _UNITS:
        if seconds >= size:
            return f"{round(seconds / size, 6):g}{name}"
    return "0ns"


def _endpoint(agent_pid: str) -> str:
    try:
        pid = PID.parse(agent_pid)
    except PIDError:
        return ""
    return f"{pid.host}:{pid.port}"


def executor_environment(config: AgentConfig, executor: ExecutorEntry, framework_info: dict[str, Any],
                         agent_pid: str, agent_id: str, *, agent_endpoint: str | None = None,
                         curve: CurveKeys | None = None, agent_public_key: bytes = b"") -> dict[str, str]:
    """Variables for the executor process. Durations are in Mesos' form (``5secs``).

    ``MESOS_AGENT_ENDPOINT`` is ``agent_endpoint`` when given (the agent's
    HTTP host:port), else the host:port of ``agent_pid``. ``MESOS_TASK_ID``
    is set for the command executor (whose executor id is its task's id).

    Order of precedence (last wins): the agent's ``--executor_environment``, the
    MESOS_* variables, the executor's ``command.environment``. With CURVE (``curve``, the
    executor's key pair, which the agent made), ``MESOPY_AGENT_PUBLIC_KEY`` is the agent's key,
    ``MESOPY_CURVE_PUBLIC_KEY``/``MESOPY_CURVE_SECRET_KEY`` the executor's pair."""
    env = config.executor_env()
    checkpoint = bool(framework_info.get("checkpoint"))
    env.update({
        "MESOS_FRAMEWORK_ID": executor.framework_id,
        "MESOS_EXECUTOR_ID": executor.executor_id,
        "MESOS_CONTAINER_ID": executor.container_id,
        "MESOS_DIRECTORY": executor.directory,
        "MESOS_SANDBOX": executor.directory,
        "MESOS_AGENT_PID": agent_pid,
        "MESOS_SLAVE_PID": agent_pid,
        "MESOS_AGENT_ENDPOINT": agent_endpoint or _endpoint(agent_pid),
        "MESOS_AGENT_ID": agent_id,
        "MESOS_SLAVE_ID": agent_id,
        "MESOS_CHECKPOINT": "1" if checkpoint else "0",
        "MESOS_EXECUTOR_REGISTRATION_TIMEOUT": format_duration(config.executor_registration_timeout),
        "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": format_duration(config.executor_shutdown_grace_period),
        "MESOS_KILL_GRACE_PERIOD": format_duration(config.task_kill_grace_period),
        "MESOS_RECOVERY_TIMEOUT": format_duration(config.recovery_timeout),
    })
    if executor.command_executor:
        env["MESOS_TASK_ID"] = executor.executor_id
    if executor.token:
        env["MESOS_EXECUTOR_AUTHENTICATION_TOKEN"] = executor.token
    if curve is not None and agent_public_key:
        env["MESOPY_AGENT_PUBLIC_KEY"] = agent_public_key.decode()
        env["MESOPY_CURVE_PUBLIC_KEY"], env["MESOPY_CURVE_SECRET_KEY"] = curve.public.decode(), curve.secret.decode()
    command = executor.info.get("command") or {}
    for variable in (command.get("environment") or {}).get("variables") or []:
        if isinstance(variable, dict) and isinstance(variable.get("name"), str):
            env[variable["name"]] = str(variable.get("value", ""))
    return env
