"""Messages between an agent and the master."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transport.schema import Message, message

__all__ = [
    "RegisterAgent",
    "ReregisterAgent",
    "AgentRegistered",
    "AgentReregistered",
    "UnregisterAgent",
    "PingAgent",
    "PongAgent",
    "RunTask",
    "ShutdownFramework",
    "ShutdownAgent",
    "UpdateFramework",
    "CheckpointResources",
    "MasterStateRequest",
    "MasterState",
    "ResourceUsageRequest",
    "ResourceUsage",
]

Dict = dict[str, Any]


@message
class RegisterAgent(Message):
    """agent -> master: register ``agent`` (v1 AgentInfo dict: hostname, port, resources, attributes)."""

    agent: Dict
    version: str = ""


@message
class ReregisterAgent(Message):
    """agent -> master: re-register ``agent`` (with its id) and what runs on it."""

    agent: Dict
    tasks: list[Dict] = field(default_factory=list)
    executors: list[Dict] = field(default_factory=list)
    frameworks: list[Dict] = field(default_factory=list)
    version: str = ""


@message
class AgentRegistered(Message):
    """master -> agent: registered as ``agent_id``; pings come every ``ping_interval`` seconds, and
    after ``max_ping_timeouts`` intervals without one the agent counts the master lost (re-registers)."""

    agent_id: str
    master_info: Dict = field(default_factory=dict)
    ping_interval: float = 15.0
    max_ping_timeouts: int = 5


@message
class AgentReregistered(Message):
    """master -> agent: re-registered as ``agent_id`` (pings as in AgentRegistered)."""

    agent_id: str
    master_info: Dict = field(default_factory=dict)
    ping_interval: float = 15.0
    max_ping_timeouts: int = 5


@message
class UnregisterAgent(Message):
    """agent -> master: this agent is leaving for good (its tasks are gone)."""

    agent_id: str


@message
class PingAgent(Message):
    """master -> agent: health check; ``connected`` says whether the master counts it registered."""

    connected: bool = True


@message
class PongAgent(Message):
    """agent -> master: answer to PingAgent."""


@message
class RunTask(Message):
    """master -> agent -> executor: run ``task`` (a v1 TaskInfo dict) for ``framework`` (FrameworkInfo with id)."""

    framework: Dict
    framework_pid: str
    task: Dict


@message
class ShutdownFramework(Message):
    """master -> agent: kill every task and executor of the framework."""

    framework_id: str


@message
class ShutdownAgent(Message):
    """master -> agent: you were removed; kill everything and stop (or re-register afresh)."""

    message: str = ""


@message
class UpdateFramework(Message):
    """master -> agent: the framework's scheduler moved to ``framework_pid``."""

    framework_id: str
    framework_pid: str


@message
class CheckpointResources(Message):
    """master -> agent: the agent's dynamically reserved resources now (resource dicts with their
    ``reservations`` stacks); the agent keeps them in its work_dir and reports them when it registers."""

    resources: list[Dict] = field(default_factory=list)


@message
class MasterStateRequest(Message):
    """anyone -> master: request for the master's state (answered with MasterState)."""


@message
class MasterState(Message):
    """master -> requester: the state as the /master/state endpoint shows it."""

    state: Dict


@message
class ResourceUsageRequest(Message):
    """anyone -> agent: request for executors' resource usage (answered with ResourceUsage)."""


@message
class ResourceUsage(Message):
    """agent -> requester: per executor {framework_id, executor_id, statistics: {cpus_user_time_secs, ...}}."""

    executors: list[Dict]
