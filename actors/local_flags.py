"""A local cluster's flags by name: which are the master's, which the agents'."""

from __future__ import annotations

import dataclasses
from typing import Any

from actors.agent.config import AgentConfig
from actors.flags import flag_specs
from actors.master.config import MasterConfig

__all__ = ["split_flags"]

_OURS = {"ip", "port", "advertise_ip", "advertise_port", "work_dir", "master", "http", "http_port"}  # set by the cluster


def _coerce(config_cls: type, name: str, value: Any) -> Any:
    """A flag given as text is converted like on a command line; other values pass as they are."""
    if not isinstance(value, str):
        return value
    spec = next(s for s in flag_specs(config_cls) if s.name == name)
    return spec.convert(value, name)


def split_flags(flags: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Flags by name into (master fields, agent fields); a name in both goes to both.

    Raises TypeError naming a flag that is neither a master nor an agent flag,
    or one the cluster sets itself (ip, port, work_dir, master).
    """
    master_names = {f.name for f in dataclasses.fields(MasterConfig)}
    agent_names = {f.name for f in dataclasses.fields(AgentConfig)}
    master: dict[str, Any] = {}
    agent: dict[str, Any] = {}
    for name, value in flags.items():
        if name in _OURS:
            raise TypeError(f"flag {name!r} is set by the local cluster itself; use its own arguments")
        if name not in master_names and name not in agent_names:
            raise TypeError(f"unknown flag {name!r}: neither a master nor an agent flag")
        if name in master_names:
            master[name] = _coerce(MasterConfig, name, value)
        if name in agent_names:
            agent[name] = _coerce(AgentConfig, name, value)
    return master, agent
