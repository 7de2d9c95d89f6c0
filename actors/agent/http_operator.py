"""``POST /api/v1`` on the agent: Mesos' v1 agent operator API.

``GET_HEALTH``, ``GET_VERSION``, ``GET_FLAGS``, ``GET_METRICS``, ``GET_STATE``
(``get_tasks``, ``get_executors``, ``get_frameworks``), ``GET_FRAMEWORKS``,
``GET_EXECUTORS``, ``GET_TASKS``, ``GET_CONTAINERS`` (with the isolator's
usage), ``LIST_FILES`` and ``READ_FILE`` (base64 ``data`` and the file's
``size``; the sandbox confinement of actors/agent/files.py). Answers are
``{"type": NAME, "name": {...}}``. Views of the agent's records are built on
its thread; file and cgroup reads on the HTTP loop's worker threads. The calls
are a table (``AGENT_CALLS``: name -> coroutine ``fn(context, call)``). With
``--acls`` the ``GET_*`` views hold what the request's principal may see
(view_frameworks, view_executors, view_tasks) and the file calls need
access_sandboxes, as ``/state`` and ``/files/*`` (actors/agent/http_security.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from actors.agent.files import FilesError, SandboxFiles
from actors.agent.http_security import SandboxGuard, framework_user, visible_executors
from actors.http_common import decode_call, encoded, on_actor
from actors.master.model import task_user
from actors.security.acls import Acls
from actors.security.visibility import Viewer, viewer
from actors.scheduler.shapes import b64_text, for_callback
from actors.v1_api import call_registrar
from actors.version import MESOS_VERSION
from isolation import IsolationError
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer

if TYPE_CHECKING:
    from actors.agent.process import AgentProcess

__all__ = ["AGENT_CALLS", "AgentOperatorContext", "install_agent_operator_route"]

Dict = dict[str, Any]


@dataclass
class AgentOperatorContext:
    """What a call sees; ``principal``: the request's (None: anonymous)."""

    agent: AgentProcess
    files: SandboxFiles
    metrics: Callable[[], dict[str, float]]
    acls: Acls
    sandboxes: SandboxGuard
    principal: str | None = None


AgentCall = Callable[[AgentOperatorContext, Dict], Awaitable["Dict | None"]]
AGENT_CALLS: dict[str, AgentCall] = {}
agent_call = call_registrar(AGENT_CALLS)  # @agent_call("NAME"): the agent's answer to that call


def _id(value: str) -> Dict:
    return {"value": value}


def _tasks(agent: AgentProcess, seen: Viewer | None) -> Dict:
    executors = visible_executors(agent, seen)

    def shown(e: Any, task: Dict) -> bool:
        return seen is None or seen.task(framework_user(agent, e.framework_id), task_user(task))

    live = [{"task_id": _id(t.task_id), "framework_id": _id(t.framework_id), "executor_id": _id(t.executor_id),
             "agent_id": _id(agent.agent_id), "name": t.task.get("name", ""), "state": t.state,
             "resources": t.resources.to_dicts()}
            for e in executors for t in e.tasks.values() if shown(e, t.task)]
    queued = [for_callback(t) for e in executors for t in e.queued if shown(e, t)]
    return {"launched_tasks": live, "queued_tasks": queued, "terminated_tasks": [], "completed_tasks": []}


def _executors(agent: AgentProcess, seen: Viewer | None) -> Dict:
    return {"executors": [{"executor_info": for_callback(dict(e.info, executor_id=_id(e.executor_id),
                                                             framework_id=_id(e.framework_id)))}
                          for e in visible_executors(agent, seen)], "completed_executors": []}


def _frameworks(agent: AgentProcess, seen: Viewer | None) -> Dict:
    return {"frameworks": [{"framework_info": for_callback(dict(f.info, id=_id(fid)))}
                           for fid, f in agent.table.frameworks.items()
                           if seen is None or seen.framework(str(f.info.get("user") or ""))],
            "completed_frameworks": []}


def _on_agent(view: Callable[[AgentProcess, Viewer | None], Dict]) -> AgentCall:
    async def call(ctx: AgentOperatorContext, body: Dict) -> Dict:
        seen = viewer(ctx.acls, ctx.principal)
        return await on_actor(ctx.agent, lambda: view(ctx.agent, seen))
    return call


AGENT_CALLS.update({
    "GET_TASKS": _on_agent(_tasks),
    "GET_EXECUTORS": _on_agent(_executors),
    "GET_FRAMEWORKS": _on_agent(_frameworks),
    "GET_STATE": _on_agent(lambda a, seen: {"get_tasks": _tasks(a, seen), "get_executors": _executors(a, seen),
                                            "get_frameworks": _frameworks(a, seen)}),
    "GET_FLAGS": _on_agent(lambda a, seen: {"flags": [{"name": k, "value": str(v)}
                                                      for k, v in sorted(vars(a.config).items())]}),
})


@agent_call("GET_HEALTH")
async def _health(ctx: AgentOperatorContext, call: Dict) -> Dict:
    await on_actor(ctx.agent, lambda: None)
    return {"healthy": True}


@agent_call("GET_VERSION")
async def _version(ctx: AgentOperatorContext, call: Dict) -> Dict:
    return {"version_info": {"version": MESOS_VERSION}}


@agent_call("GET_METRICS")
async def _metrics(ctx: AgentOperatorContext, call: Dict) -> Dict:
    snapshot = await on_actor(ctx.agent, ctx.metrics)
    return {"metrics": [{"name": k, "value": float(v)} for k, v in sorted(snapshot.items())]}


@agent_call("GET_CONTAINERS")
async def _containers(ctx: AgentOperatorContext, call: Dict) -> Dict:
    agent = ctx.agent

    def entries() -> list[Dict]:
        return [{"framework_id": _id(e.framework_id), "executor_id": _id(e.executor_id),
                 "executor_name": e.info.get("name", ""), "container_id": _id(e.container_id),
                 "container_status": {"executor_pid": e.os_pid} if e.os_pid else {}}
                for e in agent.table.executors.values()]

    def with_usage(found: list[Dict]) -> list[Dict]:
        for entry in found:
            try:
                entry["resource_statistics"] = agent.isolator.usage(entry["container_id"]["value"]).to_dict()
            except IsolationError:
                pass
        return found

    found = await on_actor(agent, entries)
    return {"containers": await asyncio.get_running_loop().run_in_executor(None, with_usage, found)}


async def _files(fn: Callable[[], Any]) -> Any:
    try:
        return await asyncio.get_running_loop().run_in_executor(None, fn)
    except FilesError as e:
        raise HttpError(e.status, e.message) from None


def _path(call: Dict, field: str) -> str:
    body = call.get(field)
    path = body.get("path") if isinstance(body, dict) else None
    if not isinstance(path, str) or not path:
        raise HttpError(400, f"Expecting '{field}.path' to be present")
    return path


@agent_call("LIST_FILES")
async def _list_files(ctx: AgentOperatorContext, call: Dict) -> Dict:
    path = _path(call, "list_files")
    await ctx.sandboxes.check(ctx.principal, path, "readwrite")
    entries = await _files(lambda: ctx.files.browse(path))
    return {"file_infos": [dict(e, mtime={"nanoseconds": int(e["mtime"] * 1e9)}) for e in entries]}


@agent_call("READ_FILE")
async def _read_file(ctx: AgentOperatorContext, call: Dict) -> Dict:
    path = _path(call, "read_file")
    body = call["read_file"]
    offset, length = body.get("offset", 0), body.get("length")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise HttpError(400, f"'read_file.offset' must be an integer >= 0, got {offset!r}")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 0):
        raise HttpError(400, f"'read_file.length' must be an integer >= 0, got {length!r}")
    await ctx.sandboxes.check(ctx.principal, path, "readwrite")
    size, data = await _files(lambda: ctx.files.read_bytes(path, offset, length))
    return {"size": size, "data": b64_text(data)}


def install_agent_operator_route(server: HttpServer, ctx: AgentOperatorContext) -> None:
    async def operator(request: HttpRequest) -> HttpReply:
        call, kind = decode_call(request)
        if kind not in AGENT_CALLS:
            raise HttpError(400, f"Unsupported agent call type {kind!r}; this agent answers "
                                 f"{', '.join(sorted(AGENT_CALLS))}")
        body = await AGENT_CALLS[kind](replace(ctx, principal=request.principal), call)
        if body is None:
            return HttpReply(status=200, content_type="text/plain")
        return HttpReply(body=encoded({"type": kind, kind.lower(): body}))

    server.route("/api/v1", operator, methods=("POST",))
