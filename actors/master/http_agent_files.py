"""``GET /agent/<agent_id>/files/browse`` and ``/files/read``: an agent's sandbox files through the
master, for the web UI's sandbox viewer. The request goes on to the agent's own ``/files/*``
unchanged (actors/master/http.py's guard has authenticated it here), with its ``Authorization``
header: the agent authenticates the same Basic credentials against its ``--http_credentials``
and checks ``access_sandboxes`` for that principal, so the page reads files as the person
logged in to it, and a restricted principal sees only the sandboxes its ACLs allow. Only
registered agents' HTTP addresses are reached, only for those two read-only paths (each
reply bounded by the agent's ``/files/read`` length cap)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from actors.http_common import on_actor
from actors.master.process import MasterProcess
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer, forward
from transport.tls import client_context

__all__ = ["AGENT_FILES_PREFIX", "FILE_PATHS", "agent_files_target", "install_agent_files_route"]

AGENT_FILES_PREFIX = "/agent/"
FILE_PATHS = ("/files/browse", "/files/read")


def agent_files_target(path: str) -> tuple[str, str] | None:
    """``/agent/<agent_id>/files/read`` -> (agent_id, ``/files/read``); None for any other path."""
    if not path.startswith(AGENT_FILES_PREFIX):
        return None
    agent_id, slash, rest = path[len(AGENT_FILES_PREFIX):].partition("/")
    target = slash + rest
    return (agent_id, target) if agent_id and target in FILE_PATHS else None


def _agent_base(master: MasterProcess, agent_id: str, scheme: str) -> str | None:
    """On the master's thread: the registered agent's HTTP base URL (None: unknown, or it serves none)."""
    agent = master.core.agents.get(agent_id)
    address: Any = agent.info.get("address") if agent is not None else None
    if not isinstance(address, dict) or not address.get("port"):
        return None
    return f"{scheme}://{address.get('ip') or address.get('hostname')}:{int(address['port'])}"


def install_agent_files_route(server: HttpServer, master: MasterProcess) -> None:
    """Route ``/agent/<agent_id>/files/{browse,read}``. The agents serve the master's scheme (TLS on
    every port or none); an https agent is checked against LIBPROCESS_SSL_CA_FILE, else the system's CAs."""
    scheme = server.scheme
    tls = client_context() if scheme == "https" else None

    async def files(request: HttpRequest) -> HttpReply:
        target = agent_files_target(request.path)
        if target is None:
            raise HttpError(404, f"no endpoint {request.path}: use /agent/<agent_id>{' or '.join(FILE_PATHS)}")
        agent_id, path = target
        base = await on_actor(master, lambda: _agent_base(master, agent_id, scheme))
        if base is None:
            raise HttpError(404, f"agent {agent_id!r} is not registered or serves no HTTP")
        return await forward(replace(request, path=path), base, tls)

    server.route(AGENT_FILES_PREFIX.rstrip("/"), files, prefix=True)
