"""The agent: registers with the master, runs executors as OS processes in
their sandboxes and containers, and delivers status updates reliably."""

from __future__ import annotations

import pykka

from actors.agent.config import AgentConfig, ConfigError, parse_attributes
from actors.agent.process import AgentProcess
from actors.node import Node

__all__ = ["AgentConfig", "AgentProcess", "ConfigError", "parse_attributes", "spawn_agent"]


def spawn_agent(node: Node, config: AgentConfig, name: str = "agent(1)") -> pykka.ActorRef[AgentProcess]:
    """Start an agent on ``node`` (started) as ``name``; it registers with ``config.master``."""
    return AgentProcess.spawn(node, config, name)
