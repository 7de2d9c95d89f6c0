"""The agent's HTTP endpoints (Mesos' paths and JSON shapes).

``/<process name>/state`` (``/slave(1)/state`` for ``agent(1)``, as Mesos
names its agent process) and ``/state``, flags, metrics, health, containers,
monitor statistics, and the sandbox file API (actors/agent/files.py). Views
run on the agent's thread; file I/O and usage reads run on the HTTP loop's
worker threads, never on the agent's.
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
from actors.http_common import encoded, int_param, json_view, on_actor, route_health_and_metrics
from actors.master.model import flat_resources
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


def agent_state(agent: AgentProcess, start_time: float) -> Dict:
    """/slave(1)/state, built on the agent's thread."""
    frameworks: dict[str, Dict] = {}
    for fid, fw in agent.table.frameworks.items():
        info = fw.info
        roles = info.get("roles") or [info.get("role") or "*"]
        frameworks[fid] = {"id": fid, "name": info.get("name", ""), "user": info.get("user", ""),
                           "hostname": info.get("hostname", ""), "role": roles[0], "roles": list(roles),
                           "checkpoint": bool(info.get("checkpoint", False)),
                           "failover_timeout": info.get("failover_timeout", 0.0),
                           "executors": [], "completed_executors": []}
    for executor in agent.table.executors.values():
        fw_state = frameworks.get(executor.framework_id)
        if fw_state is None:
            continue
        fw_state["executors"].append({
            "id": executor.executor_id, "name": executor.info.get("name", ""),
            "source": executor.info.get("source", ""), "container": executor.container_id,
            "directory": executor.directory, "state": executor.state,
            "resources": flat_resources(agent.table.container_resources(executor)),
            "tasks": [_task(agent, t) for t in executor.tasks.values()],
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


def install_agent_routes(server: HttpServer, agent: AgentProcess) -> None:
    """Route every agent endpoint on ``server`` to ``agent`` (on the spawning thread)."""
    start_time, started = time.time(), time.monotonic()
    files = SandboxFiles(agent.config.work_dir)
    prefix = "/" + mesos_process_name(agent.pid.name)

    def view(build: Callable[[], Any]) -> Handler:
        return json_view(agent, build)

    state = view(lambda: agent_state(agent, start_time))
    for path in (f"{prefix}/state", f"{prefix}/state.json", "/state", "/state.json"):
        server.route(path, state)
    flags = {"flags": {k: str(v) for k, v in vars(agent.config).items()}}
    server.route(f"{prefix}/flags", view(lambda: flags))
    server.route("/flags", view(lambda: flags))

    def snapshot() -> dict[str, float]:
        return agent_metrics(agent, time.monotonic() - started)

    route_health_and_metrics(server, agent, snapshot, ("/health", f"{prefix}/health"))
    install_executor_route(server, agent)
    install_agent_operator_route(server, AgentOperatorContext(agent, files, snapshot))

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

    async def browse(request: HttpRequest) -> HttpReply:
        path = request.query.get("path", "")
        return HttpReply(body=encoded(await off_loop(lambda: files.browse(path))))

    async def read(request: HttpRequest) -> HttpReply:
        q = request.query
        path = q.get("path", "")
        offset = int_param(q, "offset", 0, minimum=-1)
        length = int_param(q, "length", -1, minimum=-1)
        return HttpReply(body=encoded(await off_loop(lambda: files.read(path, offset, None if length < 0 else length))))

    async def download(request: HttpRequest) -> HttpReply:
        path = request.query.get("path", "")
        real = await off_loop(lambda: files.download(path))
        name = real.rsplit("/", 1)[-1].replace('"', "")
        return HttpReply(file=real, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    for name, handler in (("browse", browse), ("read", read), ("download", download)):
        server.route(f"/files/{name}", handler)
        server.route(f"/files/{name}.json", handler)
