"""The agent's HTTP endpoints (Mesos' paths and JSON shapes).

``/<process name>/state`` (``/slave(1)/state`` for ``agent(1)``, as Mesos
names its agent process) and ``/state``, flags, metrics, health, containers,
monitor statistics, and the sandbox file API (actors/agent/files.py). Views
run on the agent's thread; file I/O and usage reads run on the HTTP loop's
worker threads, never on the agent's.

Security as the master's (``--acls``, ``--http_credentials``,
``--authenticate_http_readonly``/``readwrite``; the executor API keeps its
tokens): ``/state`` shows a principal the frameworks, executors and tasks the
view_* ACLs let it see, and ``/files/*`` in an executor's sandbox needs
access_sandboxes on that executor's user (its command's, else its framework's),
403 naming the action otherwise; refusals are counted as
``slave/http_security/<class>/<reason>``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from actors.agent.files import FilesError, SandboxFiles
from actors.agent.http_executor import install_executor_route
from actors.agent.http_operator import AgentOperatorContext, install_agent_operator_route
from actors.agent.process import AgentProcess
from actors.http_common import encoded, install_guard, int_param, json_view, on_actor, route_health_and_metrics
from actors.master.model import flat_resources, task_user
from actors.security.http_auth import HttpGuard
from actors.agent.http_security import SandboxGuard, visible_executors
from actors.security.visibility import Viewer, viewer
from actors.version import MESOS_VERSION
from actors.wire_metrics import rejection_metrics
from isolation import IsolationError
from transport.http import Handler, HttpError, HttpReply, HttpRequest, HttpServer

__all__ = ["agent_metrics", "agent_state", "install_agent_routes", "mesos_process_name"]

Dict = dict[str, Any]
LIVE_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")


def mesos_process_name(name: str) -> str:
    """``agent(2)`` -> ``slave(2)``: the path prefix Mesos' clients use for an agent."""
    return "slave" + name[len("agent"):] if name.startswith("agent") else name


def _task(agent: AgentProcess, entry: Any) -> Dict:
    from actors.resources import Resources

    return {"id": entry.task_id, "name": entry.task.get("name", ""), "framework_id": entry.framework_id,
            "executor_id": entry.executor_id, "slave_id": agent.agent_id, "state": entry.state,
            "resources": flat_resources(Resources.from_dicts(entry.task.get("resources") or []))}


def _attribute_value(attribute: dict[str, Any]) -> Any:
    value = attribute.get("text") or attribute.get("scalar")
    return value.get("value") if isinstance(value, dict) else None


def agent_state(agent: AgentProcess, start_time: float, seen: Viewer | None = None) -> Dict:
    """/slave(1)/state, built on the agent's thread; with ``seen``, what it may see."""
    frameworks: dict[str, Dict] = {}
    for fid, fw in agent.table.frameworks.items():
        info = fw.info
        if seen is not None and not seen.framework(str(info.get("user") or "")):
            continue
        roles = info.get("roles") or [info.get("role") or "*"]
        frameworks[fid] = {"id": fid, "name": info.get("name", ""), "user": info.get("user", ""),
                           "hostname": info.get("hostname", ""), "role": roles[0], "roles": list(roles),
                           "checkpoint": bool(info.get("checkpoint", False)),
                           "failover_timeout": info.get("failover_timeout", 0.0),
                           "executors": [], "completed_executors": []}
    for executor in visible_executors(agent, seen):
        fw_state = frameworks.get(executor.framework_id)
        if fw_state is None:
            continue
        user = str(fw_state["user"] or "")
        fw_state["executors"].append({
            "id": executor.executor_id, "name": executor.info.get("name", ""),
            "source": executor.info.get("source", ""), "container": executor.container_id,
            "directory": executor.directory, "state": executor.state,
            "resources": flat_resources(agent.table.container_resources(executor)),
            "tasks": [_task(agent, t) for t in executor.tasks.values()
                      if seen is None or seen.task(user, task_user(t.task))],
            "queued_tasks": [{"id": str((t.get("task_id") or {}).get("value", "")), "name": t.get("name", "")}
                             for t in executor.queued],
            "completed_tasks": []})
    info = agent.agent_info()
    return {
        "version": MESOS_VERSION, "start_time": start_time, "id": agent.agent_id, "pid": str(agent.pid),
        "hostname": info["hostname"], "resources": flat_resources(agent.resources),
        "unreserved_resources": flat_resources(agent.resources.unreserved()),
        "attributes": {a["name"]: _attribute_value(a) for a in agent.attributes},
        "master_hostname": agent.master.host if agent.master is not None else "",
        "flags": {k: str(v) for k, v in vars(agent.config).items()},
        "frameworks": list(frameworks.values()), "completed_frameworks": [],
    }


def agent_metrics(agent: AgentProcess, uptime: float) -> dict[str, float]:
    """/metrics/snapshot with Mesos' agent names (``slave/tasks_running``, ``slave/cpus_used``...)."""
    out: dict[str, float] = {"slave/uptime_secs": uptime, "slave/registered": 1.0 if agent.connected else 0.0}
    out["slave/frameworks_active"] = len(agent.table.frameworks)
    states = Counter(t.state for e in agent.table.executors.values() for t in e.tasks.values())
    for state in LIVE_STATES:
        out["slave/tasks_" + state[len("TASK_"):].lower()] = states.get(state, 0)
    executor_states = Counter(e.state for e in agent.table.executors.values())
    out["slave/executors_registering"] = executor_states.get("LAUNCHING", 0)
    out["slave/executors_running"] = executor_states.get("REGISTERED", 0)
    out["slave/executors_terminating"] = executor_states.get("TERMINATING", 0)
    used = agent.table.used()
    for name in ("cpus", "mem", "disk", "gpus"):
        total, in_use = agent.resources.scalar(name), used.scalar(name)
        out[f"slave/{name}_total"], out[f"slave/{name}_used"] = total, in_use
        out[f"slave/{name}_percent"] = in_use / total if total else 0.0
    out["slave/event_queue_messages"] = agent.posted - agent.handled
    out.update(rejection_metrics("slave", agent.node.endpoint.counters.snapshot(), agent.node.counters.snapshot(),
                                 (agent.entitlements.snapshot(),), agent.node.counters.get("refused")))
    return out


def _http_security_metrics(refused: dict[str, int]) -> dict[str, float]:
    out = {"slave/http_security/refused": float(sum(refused.values()))}
    out.update({f"slave/http_security/{key.replace(':', '/')}": float(n) for key, n in refused.items()})
    return out


def install_agent_routes(server: HttpServer, agent: AgentProcess) -> None:
    """Route every agent endpoint on ``server`` to ``agent`` (on the spawning thread)."""
    start_time, started = time.time(), time.monotonic()
    files = SandboxFiles(agent.config.work_dir)
    prefix = "/" + mesos_process_name(agent.pid.name)
    credentials, acls = agent.config.load_security()
    guard = install_guard(server, HttpGuard(credentials, acls, agent.config.http_authenticate(), "agent_http",
                                            own_auth=frozenset({"/api/v1/executor"})))

    def view(build: Callable[[], Any]) -> Handler:
        return json_view(agent, build)

    everything = view(lambda: agent_state(agent, start_time))

    async def state(request: HttpRequest) -> HttpReply:
        seen = viewer(acls, request.principal)
        if seen is None:
            return await everything(request)
        return HttpReply(body=await on_actor(agent, lambda: encoded(agent_state(agent, start_time, seen))))

    for path in (f"{prefix}/state", f"{prefix}/state.json", "/state", "/state.json"):
        server.route(path, state)
    flags = {"flags": {k: str(v) for k, v in vars(agent.config).items()}}
    server.route(f"{prefix}/flags", view(lambda: flags))
    server.route("/flags", view(lambda: flags))

    def snapshot() -> dict[str, float]:
        return {**agent_metrics(agent, time.monotonic() - started), **_http_security_metrics(guard.refused.snapshot())}

    route_health_and_metrics(server, agent, snapshot, ("/health", f"{prefix}/health"))
    install_executor_route(server, agent)
    sandboxes = SandboxGuard(agent, files, acls, guard.refused)
    install_agent_operator_route(server, AgentOperatorContext(agent, files, snapshot, acls, sandboxes))

    def containers_of() -> list[Dict]:
        return [{"container_id": e.container_id, "executor_id": e.executor_id,
                 "executor_name": e.info.get("name", ""), "framework_id": e.framework_id,
                 "source": e.info.get("source", ""), "status": {"executor_pid": e.os_pid}}
                for e in agent.table.executors.values()]

    def with_usage(entries: list[Dict]) -> list[Dict]:  # cgroup reads: on a worker thread
        for entry in entries:
            try:
                entry["statistics"] = agent.isolator.usage(entry["container_id"]).to_dict()
            except IsolationError:
                entry["statistics"] = {}
        return entries

    async def usage() -> list[Dict]:
        entries = await on_actor(agent, containers_of)
        return await asyncio.get_running_loop().run_in_executor(None, with_usage, entries)

    async def containers(request: HttpRequest) -> HttpReply:
        return HttpReply(body=encoded(await usage()))

    async def statistics(request: HttpRequest) -> HttpReply:
        entries = await usage()
        keys = ("executor_id", "executor_name", "framework_id", "source", "statistics")
        return HttpReply(body=encoded([{k: e[k] for k in keys} for e in entries]))

    server.route("/containers", containers)
    server.route("/monitor/statistics", statistics)
    server.route("/monitor/statistics.json", statistics)

    async def off_loop(fn: Callable[[], Any]) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn)
        except FilesError as e:
            if e.status == 403:
                agent.log.warning("files_access_refused", error=e.message)
            raise HttpError(e.status, e.message) from None

    async def may_access(request: HttpRequest) -> str:
        """The request's path, once access_sandboxes allows its principal the sandbox it is in."""
        path = request.query.get("path", "")
        await sandboxes.check(request.principal, path)
        return path

    async def browse(request: HttpRequest) -> HttpReply:
        path = await may_access(request)
        return HttpReply(body=encoded(await off_loop(lambda: files.browse(path))))

    async def read(request: HttpRequest) -> HttpReply:
        q = request.query
        path = await may_access(request)
        offset = int_param(q, "offset", 0, minimum=-1)
        length = int_param(q, "length", -1, minimum=-1)
        return HttpReply(body=encoded(await off_loop(lambda: files.read(path, offset, None if length < 0 else length))))

    async def download(request: HttpRequest) -> HttpReply:
        path = await may_access(request)
        real = await off_loop(lambda: files.download(path))
        name = real.rsplit("/", 1)[-1].replace('"', "")
        return HttpReply(file=real, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    for name, handler in (("browse", browse), ("read", read), ("download", download)):
        server.route(f"/files/{name}", handler)
        server.route(f"/files/{name}.json", handler)
