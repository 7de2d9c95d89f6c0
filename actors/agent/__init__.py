"""The agent: registers with the master, runs executors as OS processes in
their sandboxes and containers, and delivers status updates reliably.

The names below are imported on first use (PEP 562), so that a light
submodule (``actors.agent.launcher``, used by the command executor) can be
imported without the agent actor, its isolators and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

    from actors.agent.config import AgentConfig, ConfigError, parse_attributes
    from actors.agent.process import AgentProcess
    from actors.node import Node
    from transport.http import HttpServer

__all__ = ["AgentConfig", "AgentProcess", "ConfigError", "parse_attributes", "spawn_agent"]

_LAZY = {"AgentConfig": "actors.agent.config", "ConfigError": "actors.agent.config",
         "parse_attributes": "actors.agent.config", "AgentProcess": "actors.agent.process"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'actors.agent' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def spawn_agent(node: Node, config: AgentConfig, name: str = "agent(1)",
                http: HttpServer | None = None) -> pykka.ActorRef[AgentProcess]:
    """Start an agent on ``node`` (started) as ``name``; it registers with ``config.master``.
    With ``http`` (bound, serving or not yet) its endpoints are routed there and AgentInfo.address names it."""
    from actors.agent.process import AgentProcess

    if http is None:
        return AgentProcess.spawn(node, config, name)
    from actors.agent.http import install_agent_routes

    return AgentProcess.spawn(node, config, name, http_port=http.port,
                              on_created=lambda agent: install_agent_routes(http, agent))
