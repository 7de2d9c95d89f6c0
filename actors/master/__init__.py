"""The master: frameworks, agents, offers and tasks (pure core in ``core``, actor in ``process``,
HTTP endpoints in ``http``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.master.config import ConfigError, MasterConfig
from actors.master.core import MasterCore
from actors.master.process import MasterProcess

if TYPE_CHECKING:
    from collections.abc import Callable

    import pykka

    from actors.node import Node
    from transport.http import HttpServer

__all__ = ["ConfigError", "MasterConfig", "MasterCore", "MasterProcess", "spawn_master"]


def spawn_master(node: Node, config: MasterConfig, http: HttpServer | None = None,
                 **hooks: Callable[[str], None]) -> pykka.ActorRef[Any]:
    """Validate ``config`` and start the master (``master``) and its allocator on the started ``node``;
    with ``http`` (bound, serving or not yet) its endpoints are routed there and MasterInfo.address names it.
    ``hooks``: ``on_elected(pid)`` and ``on_lost_leadership(reason)`` (see MasterProcess)."""
    from actors.master import process

    if http is None:
        return process.spawn_master(node, config, **hooks)
    from actors.master.http import install_master_routes

    config.validate()
    return MasterProcess.spawn(node, "master", config, http_port=http.port,
                               on_created=lambda master: install_master_routes(http, master), **hooks)
