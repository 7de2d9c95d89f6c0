"""The master's HTTP endpoints (Mesos' paths and JSON shapes).

Each view runs on the master's thread (``on_actor``) and is JSON-encoded
there, so the HTTP thread only moves bytes; see docs/http.md for the list.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import actors.master.views as views
from actors.http_common import (
    ACTOR_TIMEOUT,
    encoded,
    int_param,
    json_view,
    on_actor,
    route_health_and_metrics,
)
from actors.master.config import parse_weights
from actors.master.http_agent_files import install_agent_files_route
from actors.master.http_operator import OperatorContext, install_operator_routes
import actors.master.http_operator_allocation  # noqa: F401  (registers the v1 quota, reservation, volume and drain calls)
from actors.master.http_scheduler import install_scheduler_route
from actors.master.http_security import (
    install_http_guard,
    roles_seen,
    task_visibility,
    visible_frameworks,
    visible_view,
)
from actors.master.operator_http import install_allocation_routes
from actors.master.process import MasterProcess
from actors.master.usage_history import UsageHistory
from actors.master.webui import install_webui
from actors.security.role_visibility import role_viewer
from actors.security.visibility import viewer
from actors.version import MESOPY_VERSION, MESOS_VERSION
from actors.wire_metrics import rejection_metrics
from transport.http import Handler, HttpError, HttpReply, HttpRequest, HttpServer, json_reply

__all__ = ["MAX_TASKS_LIMIT", "install_master_routes", "version_view"]

MAX_TASKS_LIMIT = 100_000
STATE_PATHS = ("/master/state", "/state", "/state.json", "/master/state.json")


def version_view() -> dict[str, Any]:
    """/version: Mesos' keys; clients (pymesos) parse ``version`` as X.Y.Z."""
    return {"version": MESOS_VERSION, "mesopy_version": MESOPY_VERSION, "build_date": "", "build_time": 0.0,
            "build_user": "", "git_sha": "", "git_branch": ""}


def _allocator_future(master: MasterProcess, fn: Callable[[Any], Any]) -> Future[Any]:
    """On the master's thread: a future of ``fn(allocator core)``, run on the allocator's thread."""
    future: Future[Any] = Future()
    core = master.allocator_core

    def call() -> None:
        try:
            future.set_result(fn(core))
        except BaseException as e:  # handed to the request
            future.set_exception(e)

    master.on_allocator(call)
    return future


async def _allocator_answer(future: Future[Any]) -> Any:
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), ACTOR_TIMEOUT)
    except asyncio.TimeoutError:
        raise HttpError(503, f"the allocator did not answer within {ACTOR_TIMEOUT} s") from None


def _allocation_parts(master: MasterProcess, framework_id: str,
                      principal: str | None) -> tuple[Any, Future[Any] | None, set[str] | None]:
    """On the master's thread: its view of the framework, a future of the allocator's
    (``AllocationBook.explain``) and the frameworks ``principal`` may see (None: all);
    (None, None, None) for a framework ``principal`` may not see."""
    fw = master.core.frameworks.get(framework_id)
    ours = views.allocation_view(master.core, framework_id)
    seen = visible_frameworks(master.core, principal)
    if ours is None or fw is None or (seen is not None and framework_id not in seen):
        return None, None, None
    return ours, _allocator_future(master, lambda core: core.explain(framework_id, master.clock.now())), seen


def _shares(core: Any) -> dict[str, Any]:
    """/master/shares (ours, for the web UI): the allocator's dominant share of each framework and role."""
    return {"frameworks": core.shares(), "roles": core.role_shares()}


def _shares_seen(master: MasterProcess, principal: str | None, shares: dict[str, Any]) -> dict[str, Any]:
    """On the master's thread: /master/shares with only the frameworks and roles ``principal`` may see."""
    frameworks = visible_frameworks(master.core, principal)
    roles = role_viewer(master.core.security.acls, principal)
    return {"frameworks": {f: v for f, v in shares["frameworks"].items() if frameworks is None or f in frameworks},
            "roles": shares["roles"] if roles is None else roles.role_map(shares["roles"])}


def install_master_routes(server: HttpServer, master: MasterProcess) -> None:
    """Route every master endpoint on ``server`` to ``master`` (on the spawning thread)."""
    weights = parse_weights(master.config.weights)
    started = time.monotonic()
    guard = install_http_guard(server, master)

    def view(build: Callable[[], Any]) -> Handler:
        return json_view(master, build)

    def now() -> float:
        return master.clock.now()

    def filtered(build: Callable[[], Any]) -> Handler:  # what the asking principal may see (view_* ACLs)
        return visible_view(master, build) or view(build)

    for path in STATE_PATHS:
        server.route(path, filtered(lambda: views.state_view(master.core, now())))
    everything = view(lambda: views.summary_view(master.core, now()))  # coalesced when nothing is hidden

    async def summary(request: HttpRequest) -> HttpReply:  # what the asking principal may see
        seen = viewer(master.core.security.acls, request.principal)
        if seen is None:
            return await everything(request)
        return HttpReply(body=await on_actor(master, lambda: encoded(views.summary_view(master.core, now(), seen))))

    server.route("/master/state-summary", summary)
    server.route("/master/frameworks", filtered(lambda: views.frameworks_view(master.core, now())))
    server.route("/master/slaves", filtered(lambda: views.slaves_view(master.core, now())))
    server.route("/master/agents", filtered(lambda: views.slaves_view(master.core, now())))

    async def roles(request: HttpRequest) -> HttpReply:  # view_roles; each role's frameworks by view_frameworks
        return HttpReply(body=await on_actor(master, lambda: encoded(
            roles_seen(master.core, request.principal, views.roles_view(master.core, weights)))))

    server.route("/master/roles", roles)
    flags = {"flags": {k: str(v) for k, v in vars(master.config).items()}}
    server.route("/master/flags", view(lambda: flags))

    async def tasks(request: HttpRequest) -> HttpReply:
        q = request.query
        limit = int_param(q, "limit", 100, minimum=1, maximum=MAX_TASKS_LIMIT)
        offset = int_param(q, "offset", 0)
        order = q.get("order", "des") or "des"
        if order not in ("asc", "des"):
            raise HttpError(400, f"parameter 'order' must be 'asc' or 'des', got {order!r}")
        fid, tid = q.get("framework_id", ""), q.get("task_id", "")
        body = await on_actor(master, lambda: encoded(views.tasks_view(
            master.core, limit=limit, offset=offset, order=order, framework_id=fid, task_id=tid,
            visible=task_visibility(master, request.principal))))
        return HttpReply(body=body)

    async def allocation(request: HttpRequest) -> HttpReply:
        fid = request.query.get("framework_id", "")
        if not fid:
            raise HttpError(400, "parameter 'framework_id' is required")
        ours, theirs, seen = await on_actor(master, lambda: _allocation_parts(master, fid, request.principal))
        if ours is None or theirs is None:
            raise HttpError(404, f"no framework {fid!r} is registered")
        explained = await _allocator_answer(theirs)
        if explained is None:
            raise HttpError(404, f"the allocator does not know framework {fid!r}")
        if seen is not None:  # the other frameworks of its roles: those the principal may see
            explained["siblings"] = {role: [s for s in siblings if s["framework_id"] in seen]
                                     for role, siblings in explained["siblings"].items()}
        for entry in explained["filters"]:
            entry["until"] += epoch_offset
        return json_reply({"framework": ours, "allocator": explained,
                           "why": views.allocation_reasons(ours, explained)})

    epoch_offset = master.core.epoch_offset
    server.route("/master/allocation", allocation)

    async def shares(request: HttpRequest) -> HttpReply:
        answer = await _allocator_answer(await on_actor(master, lambda: _allocator_future(master, _shares)))
        return json_reply(await on_actor(master, lambda: _shares_seen(master, request.principal, answer)))

    server.route("/master/shares", shares)
    server.route("/master/tasks", tasks)
    server.route("/master/tasks.json", tasks)

    version = json_reply(version_view())

    async def version_handler(request: HttpRequest) -> HttpReply:
        return version

    server.route("/version", version_handler)

    async def redirect(request: HttpRequest) -> HttpReply:
        info = await on_actor(master, master.core.master_info)
        address = info["address"]
        return HttpReply(status=307, headers={"Location": f"//{address['hostname']}:{address['port']}"})

    server.route("/master/redirect", redirect)

    def snapshot() -> dict[str, float]:
        out = views.metrics(master.core, now(), time.monotonic() - started,
                            master.counters.snapshot().get("received", {}),
                            master.counters.get("dropped"), master.posted - master.handled)
        out.update(views.security_metrics(master.core.security.refused.snapshot(), guard.refused.snapshot()))
        out.update(rejection_metrics("master", master.node.endpoint.counters.snapshot(),
                                     master.node.counters.snapshot(),
                                     (master.core.entitlements.snapshot(), master.core.admission.refused.snapshot()),
                                     master.node.counters.get("refused")))
        return out

    route_health_and_metrics(server, master, snapshot, ("/health", "/master/health"))

    history = UsageHistory()

    async def sample() -> None:
        history.add(time.time(), await on_actor(master, snapshot))

    async def usage(request: HttpRequest) -> HttpReply:
        return json_reply(history.to_json())

    server.every(history.interval, sample)
    server.route("/master/usage", usage)
    install_webui(server)
    install_agent_files_route(server, master)
    schedulers = install_scheduler_route(server, master)
    install_operator_routes(server, master, OperatorContext(master, weights, snapshot, schedulers))
    install_allocation_routes(server, master)
