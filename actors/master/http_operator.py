"""``POST /api/v1`` (alias ``/api/v1/operator``): Mesos' v1 operator HTTP API on the master.

A call ``{"type": "GET_STATE"}`` is answered ``{"type": "GET_STATE", "get_state": {...}}``
(JSON, the shapes of actors/master/operator_views.py), or ``200`` with no body for
calls that answer nothing (``TEARDOWN``). ``SUBSCRIBE`` is answered with a
RecordIO event stream as the scheduler API's: ``SUBSCRIBED`` with the whole
state, then ``TASK_ADDED``, ``TASK_UPDATED``, ``AGENT_ADDED``, ``AGENT_REMOVED``,
``FRAMEWORK_ADDED``, ``FRAMEWORK_UPDATED``, ``FRAMEWORK_REMOVED`` as the core
observes them (``MasterLedger.observe``), and ``HEARTBEAT``. The views and the stream
hold what the request's principal may see (view_frameworks, view_tasks, view_executors; view_roles
for the roles, quotas and agents' resources).

The calls are a table, ``MASTER_CALLS``: name -> ``fn(context, call) -> body | None``,
run on the master's thread (raise HttpError(400, ...) naming a bad field).
Add a call with ``@master_call("NAME")``. Media types, 405 and a standby's
307/503 are as for the scheduler API (actors/master/http_scheduler.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog

import actors.master.operator_views as ov
from actors.http_common import decode_call, encoded, on_actor, open_stream
from actors.master import operator_actions
from actors.master.http_scheduler import HttpSchedulers, standby_reply
from actors.master.http_security import quota_seen, roles_seen
from actors.master.operator_http import teardown
from actors.master.scheduler_api import master_info_v1
from actors.security.role_visibility import RoleViewer, role_viewer
from actors.security.visibility import Viewer, viewer
from actors.v1_api import HEARTBEAT, call_registrar
from actors.version import MESOS_VERSION
from transport.event_stream import EventStream
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer
from transport.recordio import encode

if TYPE_CHECKING:
    from actors.master.core import MasterCore
    from actors.master.process import MasterProcess

__all__ = ["ACCEPTED_CALLS", "MASTER_CALLS", "MAX_OPERATOR_SUBSCRIBERS", "OperatorContext", "install_operator_routes", "master_call"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
MAX_OPERATOR_SUBSCRIBERS = 1000  # SUBSCRIBE streams held at once; more are answered 503


@dataclass
class OperatorContext:
    """What a call sees (on the master's thread); ``principal``: the request's (None: anonymous)."""

    master: MasterProcess
    weights: dict[str, float]
    metrics: Callable[[], dict[str, float]]
    schedulers: HttpSchedulers
    principal: str | None = None

    @property
    def core(self) -> MasterCore:
        return self.master.core


OperatorCall = Callable[[OperatorContext, Dict], "Dict | None"]
MASTER_CALLS: dict[str, OperatorCall] = {}
master_call = call_registrar(MASTER_CALLS)  # @master_call("NAME"): the master's answer to that call
ACCEPTED_CALLS: set[str] = set()  # calls that answer nothing with 202 Accepted (Mesos' reservations, volumes)


def _field_id(call: Dict, field: str, key: str) -> str:
    body = call.get(field)
    value = body.get(key) if isinstance(body, dict) else None
    value = value.get("value") if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"Expecting '{field}.{key}' to be present")
    return value


@master_call("GET_HEALTH")
def _health(ctx: OperatorContext, call: Dict) -> Dict:
    return {"healthy": True}


@master_call("GET_VERSION")
def _version(ctx: OperatorContext, call: Dict) -> Dict:
    return {"version_info": {"version": MESOS_VERSION}}


@master_call("GET_FLAGS")
def _flags(ctx: OperatorContext, call: Dict) -> Dict:
    return {"flags": [{"name": k, "value": str(v)} for k, v in sorted(vars(ctx.master.config).items())]}


@master_call("GET_METRICS")
def _metrics(ctx: OperatorContext, call: Dict) -> Dict:
    return {"metrics": [{"name": k, "value": float(v)} for k, v in sorted(ctx.metrics().items())]}


@master_call("GET_MASTER")
def _master(ctx: OperatorContext, call: Dict) -> Dict:
    core = ctx.core
    return {"master_info": master_info_v1(core.master_info()), "start_time": core.start_time,
            "elected_time": core.start_time}


def _viewer(ctx: OperatorContext) -> Viewer | None:
    return viewer(ctx.core.security.acls, ctx.principal)


def _seen(view: Callable[[MasterCore, Viewer | None], Dict]) -> OperatorCall:
    """A view of what the asking principal may see (view_frameworks, view_tasks, view_executors)."""
    return lambda ctx, call: view(ctx.core, _viewer(ctx))


def _agents_shown(roles: RoleViewer | None, agents: Dict) -> Dict:
    """GET_AGENTS (``agents``) with only the resources of the roles ``roles`` shows (None: all)."""
    return agents if roles is None else {**agents, "agents": [roles.agent_v1(a) for a in agents["agents"]]}


def _role_viewer(ctx: OperatorContext) -> RoleViewer | None:
    return role_viewer(ctx.core.security.acls, ctx.principal)


def _state(ctx: OperatorContext, call: Dict) -> Dict:
    state = ov.get_state(ctx.core, _viewer(ctx))
    return {**state, "get_agents": _agents_shown(_role_viewer(ctx), state["get_agents"])}


MASTER_CALLS.update({
    "GET_STATE": _state,
    "GET_AGENTS": lambda ctx, call: _agents_shown(_role_viewer(ctx), ov.get_agents(ctx.core)),
    "GET_FRAMEWORKS": _seen(ov.get_frameworks),
    "GET_EXECUTORS": _seen(ov.get_executors),
    "GET_TASKS": _seen(ov.get_tasks),
    "GET_ROLES": lambda ctx, call: roles_seen(ctx.core, ctx.principal, ov.get_roles(ctx.core, ctx.weights)),
})


@master_call("TEARDOWN")
def _teardown(ctx: OperatorContext, call: Dict) -> None:
    teardown(ctx.master, ctx.principal, _field_id(call, "teardown", "framework_id"))


@master_call("MARK_AGENT_GONE")
def _mark_agent_gone(ctx: OperatorContext, call: Dict) -> None:
    """The agent is gone for good (actors/master/operator_actions.py): recorded in the registry,
    removed, told to shut down, and refused should it come back with its id."""
    aid = _field_id(call, "mark_agent_gone", "agent_id")
    core = ctx.core
    if aid in core.registrar.registry.gone:
        return None  # already gone: as Mesos, marking it again is fine
    if aid not in core.agents and aid not in core.recovered and aid not in core.removed_agents:
        raise HttpError(400, f"No agent found with specified ID {aid!r}")
    log.info("agent_marked_gone_by_operator", agent_id=aid)
    ctx.master.change(lambda core, now, out: operator_actions.mark_gone(core, aid, now, out))
    return None


class OperatorSubscribers:
    """The operator API's event streams; on the master's thread."""

    def __init__(self, master: MasterProcess) -> None:
        self.master = master
        self.streams: dict[int, tuple[EventStream, Viewer | None, RoleViewer | None]] = {}
        self.keys = itertools.count()
        master.core.observers.append(self.observe)

    def add(self, key: int, stream: EventStream, seen: Viewer | None, roles: RoleViewer | None) -> HttpReply | None:
        """Stream the events ``seen`` may see to ``stream`` from now on, after SUBSCRIBED, with
        only the agents' resources of the roles ``roles`` shows; a standby's reply instead."""
        refused = standby_reply(self.master)
        if refused is not None:
            return refused
        if len(self.streams) >= MAX_OPERATOR_SUBSCRIBERS:
            raise HttpError(503, f"{MAX_OPERATOR_SUBSCRIBERS} operator subscriptions are open already")
        self.streams[key] = (stream, seen, roles)
        state = ov.get_state(self.master.core, seen)
        state["get_agents"] = _agents_shown(roles, state["get_agents"])
        subscribed = {"get_state": state,
                      "heartbeat_interval_seconds": float(self.master.config.http_heartbeat_interval)}
        stream.push(encode(encoded({"type": "SUBSCRIBED", "subscribed": subscribed})))
        return None

    def observe(self, kind: str, record: Any) -> None:
        if not self.streams:
            return
        core = self.master.core
        event = ov.observed_event(core, kind, record)
        if event is not None:
            data = encode(encoded(event))
            for stream, seen, roles in self.streams.values():
                if not ov.may_see(core, seen, kind, record):
                    continue
                if roles is not None and kind == "agent_added":
                    agent = roles.agent_v1(event["agent_added"]["agent"])
                    stream.push(encode(encoded({"type": "AGENT_ADDED", "agent_added": {"agent": agent}})))
                else:
                    stream.push(data)


def install_operator_routes(server: HttpServer, master: MasterProcess, ctx: OperatorContext) -> None:
    """Route ``/api/v1`` and ``/api/v1/operator`` (POST) to ``master``."""
    subscribers = OperatorSubscribers(master)
    heartbeat = encode(encoded(HEARTBEAT))

    def answer(ctx: OperatorContext, call: Dict) -> HttpReply:
        refused = standby_reply(master)
        if refused is not None:
            return refused
        kind = call["type"]
        body = MASTER_CALLS[kind](ctx, call)
        if body is None:
            return HttpReply(status=202 if kind in ACCEPTED_CALLS else 200, content_type="text/plain")
        return HttpReply(body=encoded({"type": kind, kind.lower(): body}))

    async def operator(request: HttpRequest) -> HttpReply:
        call, kind = decode_call(request)
        if kind != "SUBSCRIBE":
            if kind not in MASTER_CALLS:
                raise HttpError(400, f"Unsupported operator call type {kind!r}; this master answers "
                                     f"{', '.join(sorted([*MASTER_CALLS, 'SUBSCRIBE']))}")
            asking = replace(ctx, principal=request.principal)
            return await on_actor(master, lambda: answer(asking, call))
        key = next(subscribers.keys)
        stream = EventStream(heartbeat_every=float(master.config.http_heartbeat_interval), heartbeat=heartbeat,
                             on_end=lambda reason: master.run(subscribers.streams.pop, key, None))
        acls = master.core.security.acls
        seen, roles = viewer(acls, request.principal), role_viewer(acls, request.principal)
        return await open_stream(master, stream, lambda: subscribers.add(key, stream, seen, roles))

    for path in ("/api/v1", "/api/v1/operator"):
        server.route(path, operator, methods=("POST",))
