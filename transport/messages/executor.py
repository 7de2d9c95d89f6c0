"""Messages between an executor and its agent."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transport.schema import Message, message

__all__ = [
    "RegisterExecutor",
    "ExecutorRegistered",
    "ReconnectExecutor",
    "ReregisterExecutor",
    "ExecutorReregistered",
    "ShutdownExecutor",
]

Dict = dict[str, Any]


@message
class RegisterExecutor(Message):
    """executor -> agent: the executor process is up; ``token`` is its MESOS_EXECUTOR_AUTHENTICATION_TOKEN."""

    framework_id: str
    executor_id: str
    token: str = ""


@message
class ExecutorRegistered(Message):
    """agent -> executor: registered; v1 dicts for the executor, framework and agent."""

    executor_info: Dict
    framework_info: Dict
    agent_info: Dict
    agent_id: str


@message
class ReconnectExecutor(Message):
    """agent -> executor: the agent restarted and recovered this executor; re-register (Mesos'
    ReconnectExecutorMessage)."""

    agent_id: str


@message
class ReregisterExecutor(Message):
    """executor -> agent: reconnecting after an agent restart, with its tasks and unacknowledged updates."""

    framework_id: str
    executor_id: str
    tasks: list[Dict] = field(default_factory=list)
    updates: list[Dict] = field(default_factory=list)
    token: str = ""


@message
class ExecutorReregistered(Message):
    """agent -> executor: re-registered."""

    agent_id: str
    agent_info: Dict = field(default_factory=dict)


@message
class ShutdownExecutor(Message):
    """agent -> executor: kill your tasks and exit. Also scheduler -> master -> agent (a v1 SHUTDOWN
    call): shut down the framework's executor ``executor_id`` on agent ``agent_id``."""

    framework_id: str = ""
    executor_id: str = ""
    agent_id: str = ""
