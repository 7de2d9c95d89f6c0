"""The master's operator endpoints that change state (Mesos' v0 paths and JSON shapes).

``/quota`` (GET, POST, DELETE ``/quota/<role>``); ``/reserve`` and ``/unreserve``
(POST, form ``slaveId=<id>&resources=<JSON list>`` as Mesos, or the same keys
as a JSON object; 202 when done, 409 when the resources are not free);
``/create-volumes`` and ``/destroy-volumes`` (POST, form ``slaveId=<id>&volumes=<JSON
list>`` or JSON; 202);
mesopy's own ``/drain``, ``/deactivate`` and ``/reactivate`` (POST, the body of
Mesos' v1 ``DRAIN_AGENT`` etc.: ``{"agent_id": {"value": id},
"max_grace_period": {"nanoseconds": n}, "mark_gone": false}``; Mesos has no v0
endpoints for them). Each
calls a plain ``MasterProcess`` method on the master's thread (the same
methods the v1 operator API calls); a refused request answers 400 with the
reason.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from actors.http_common import ACTOR_TIMEOUT, on_actor
from actors.master.process import MasterProcess
from actors.master.drain import DrainError
from actors.master.quota_json import QuotaError
from actors.reservations import ReservationError
from actors.volumes import VolumeError
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer, json_reply

__all__ = ["OPERATOR_ERRORS", "install_allocation_routes", "request_json"]

OPERATOR_ERRORS: tuple[type[Exception], ...] = (QuotaError, ReservationError, DrainError, VolumeError)


def request_json(request: HttpRequest) -> Any:
    """The request body as JSON (an empty body is ``{}``); HttpError 400 if it is not JSON."""
    try:
        return json.loads(request.body or b"{}")
    except ValueError as e:
        raise HttpError(400, f"request body is not JSON: {e}") from None


async def call_master(master: MasterProcess, fn: Callable[[], Any]) -> HttpReply:
    """``fn()`` on the master's thread, its result as JSON; a refusal is 400 with its reason."""
    try:
        return json_reply(await on_actor(master, fn))
    except OPERATOR_ERRORS as e:
        raise HttpError(400, str(e)) from None


def agent_operation(request: HttpRequest, key: str = "resources") -> tuple[str, Any]:
    """(agent id, the ``key`` list) of a /reserve-like request: Mesos' form or a JSON object."""
    text = request.body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        body = request_json(request)
        agent_id, resources = body.get("slaveId") or body.get("agent_id"), body.get(key)
    else:
        form = urllib.parse.parse_qs(text)
        agent_id = (form.get("slaveId") or form.get("agent_id") or [""])[0]
        try:
            resources = json.loads((form.get(key) or [""])[0])
        except ValueError as e:
            raise HttpError(400, f"parameter {key!r} must be a JSON list of resources: {e}") from None
    if isinstance(agent_id, dict):
        agent_id = agent_id.get("value", "")
    if not isinstance(agent_id, str) or not agent_id:
        raise HttpError(400, "parameter 'slaveId' (the agent id) is required")
    return agent_id, resources


async def call_master_later(master: MasterProcess, fn: Callable[[], Future[Any]]) -> HttpReply:
    """``fn()`` on the master's thread returns a future; 202 once it is done, 409 if it fails."""
    try:
        future = await on_actor(master, fn)
    except OPERATOR_ERRORS as e:
        raise HttpError(400, str(e)) from None
    try:
        result = await asyncio.wait_for(asyncio.wrap_future(future), ACTOR_TIMEOUT)
    except asyncio.TimeoutError:
        raise HttpError(503, f"the operation was not done within {ACTOR_TIMEOUT} s") from None
    except OPERATOR_ERRORS as e:
        raise HttpError(409, str(e)) from None
    return json_reply(result, status=202)


def install_allocation_routes(server: HttpServer, master: MasterProcess) -> None:
    async def quota(request: HttpRequest) -> HttpReply:
        if request.method == "POST":
            body = request_json(request)
            return await call_master(master, lambda: master.update_quota(body))
        if request.method == "DELETE":
            role = request.path.partition("/quota/")[2] or request_json(request).get("role", "")
            if not role:
                raise HttpError(400, "DELETE needs the role: DELETE /quota/<role>")
            return await call_master(master, lambda: master.remove_quota(role))
        return await call_master(master, master.get_quota)

    for path in ("/quota", "/master/quota"):
        server.route(path, quota, methods=("GET", "POST", "DELETE"), prefix=True)

    async def reserve(request: HttpRequest) -> HttpReply:
        agent_id, resources = agent_operation(request)
        return await call_master_later(master, lambda: master.reserve_resources(agent_id, resources))

    async def unreserve(request: HttpRequest) -> HttpReply:
        agent_id, resources = agent_operation(request)
        return await call_master_later(master, lambda: master.unreserve_resources(agent_id, resources))

    async def agent_call(request: HttpRequest) -> HttpReply:
        body = request_json(request)
        name = request.path.rpartition("/")[2]
        if isinstance(body.get(f"{name}_agent"), dict):  # the v1 call's envelope
            body = body[f"{name}_agent"]
        aid = body.get("agent_id")
        aid = aid.get("value") if isinstance(aid, dict) else aid
        if not isinstance(aid, str) or not aid:
            raise HttpError(400, "'agent_id' ({\"value\": id}) is required")
        if name == "drain":
            grace, gone = body.get("max_grace_period"), body.get("mark_gone", False)
            return await call_master(master, lambda: master.drain_agent(aid, grace, gone))
        if name == "deactivate":
            return await call_master(master, lambda: master.deactivate_agent(aid))
        return await call_master(master, lambda: master.reactivate_agent(aid))

    async def volumes(request: HttpRequest) -> HttpReply:
        agent_id, items = agent_operation(request, "volumes")
        create = request.path.endswith("/create-volumes")
        call = master.create_volumes if create else master.destroy_volumes
        reply = await call_master(master, lambda: call(agent_id, items))
        reply.status = 202
        return reply

    for prefix in ("", "/master"):
        server.route(prefix + "/reserve", reserve, methods=("POST",))
        server.route(prefix + "/unreserve", unreserve, methods=("POST",))
        server.route(prefix + "/create-volumes", volumes, methods=("POST",))
        server.route(prefix + "/destroy-volumes", volumes, methods=("POST",))
        for name in ("drain", "deactivate", "reactivate"):
            server.route(f"{prefix}/{name}", agent_call, methods=("POST",))
