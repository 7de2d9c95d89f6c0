"""The master's operator endpoints that change state (Mesos' v0 paths and JSON shapes).

``/quota`` (GET, POST, DELETE ``/quota/<role>``); ``/reserve`` and ``/unreserve``
(POST, form ``slaveId=<id>&resources=<JSON list>`` as Mesos, or the same keys
as a JSON object; 202 when done, 409 when the resources are not free);
``/create-volumes`` and ``/destroy-volumes`` (POST, form ``slaveId=<id>&volumes=<JSON
list>`` or JSON; 202);
``/teardown`` (POST, form ``frameworkId=<id>`` or ``{"framework_id": ...}``; 200);
mesopy's own ``/drain``, ``/deactivate`` and ``/reactivate`` (POST, the body of
Mesos' v1 ``DRAIN_AGENT`` etc.: ``{"agent_id": {"value": id},
"max_grace_period": {"nanoseconds": n}, "mark_gone": false}``; Mesos has no v0
endpoints for them). Each
calls a plain ``MasterProcess`` method on the master's thread (the same
methods the v1 operator API calls); a refused request answers 400 with the
reason. The ACLs are checked first (``authorize_*``, shared with the v1 calls): 403 naming the
action when ``--acls`` refuses the request's principal (``teardown_frameworks``,
``reserve_resources``, ``unreserve_resources``, ``create_volumes``, ``destroy_volumes``,
``update_quota``).
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from actors.http_common import ACTOR_TIMEOUT, on_actor
from actors.master import frameworks
from actors.master.http_security import forbid_unless, quota_seen
from actors.master.process import MasterProcess
from actors.master.drain import DrainError
from actors.master.quota_json import QuotaError, parse_quota_body
from actors.reservations import ReservationError
from actors.security.objects import resource_objects
from actors.volumes import VolumeError
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer, json_reply

__all__ = ["OPERATOR_ERRORS", "authorize_quota", "authorize_resources", "install_allocation_routes", "request_json",
           "teardown"]

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


def authorize_quota(master: MasterProcess, principal: str | None, body: Any) -> None:
    """update_quota on each role the quota request names (400 if it is no quota request)."""
    try:
        roles = [role for role, _ in parse_quota_body(body)[0]]
    except QuotaError as e:
        raise HttpError(400, str(e)) from None
    forbid_unless(master, "update_quota", principal, roles)


def authorize_resources(master: MasterProcess, action: str, principal: str | None, items: Any) -> None:
    """``action`` (reserve_resources ... destroy_volumes) on the objects of the resource dicts ``items``."""
    forbid_unless(master, action, principal, resource_objects(action, items))


def teardown(master: MasterProcess, principal: str | None, framework_id: str) -> None:
    """On the master's thread: remove the framework (TEARDOWN, v0 /teardown) if ``principal`` may
    (teardown_frameworks on the framework's principal); 400 if there is no such framework."""
    fw = master.core.frameworks.get(framework_id)
    if fw is None:
        raise HttpError(400, f"No framework found with specified ID {framework_id!r}")
    forbid_unless(master, "teardown_frameworks", principal, [str(fw.info.get("principal") or "")])
    master.log.info("framework_teardown_by_operator", framework_id=framework_id, principal=principal)
    master.change(lambda core, now, out: frameworks.remove(core, fw, now, out))


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
            authorize_quota(master, request.principal, body)
            return await call_master(master, lambda: master.update_quota(body))
        if request.method == "DELETE":
            role = request.path.partition("/quota/")[2] or request_json(request).get("role", "")
            if not role:
                raise HttpError(400, "DELETE needs the role: DELETE /quota/<role>")
            forbid_unless(master, "update_quota", request.principal, [role])
            return await call_master(master, lambda: master.remove_quota(role))
        return await call_master(master, lambda: quota_seen(master.core, request.principal, master.get_quota()))

    for path in ("/quota", "/master/quota"):
        server.route(path, quota, methods=("GET", "POST", "DELETE"), prefix=True)

    async def reserve(request: HttpRequest) -> HttpReply:
        agent_id, resources = agent_operation(request)
        authorize_resources(master, "reserve_resources", request.principal, resources)
        return await call_master_later(master, lambda: master.reserve_resources(agent_id, resources))

    async def unreserve(request: HttpRequest) -> HttpReply:
        agent_id, resources = agent_operation(request)
        authorize_resources(master, "unreserve_resources", request.principal, resources)
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
        authorize_resources(master, "create_volumes" if create else "destroy_volumes", request.principal, items)
        call = master.create_volumes if create else master.destroy_volumes
        reply = await call_master(master, lambda: call(agent_id, items))
        reply.status = 202
        return reply

    async def teardown_call(request: HttpRequest) -> HttpReply:
        text = request.body.decode("utf-8", "replace").strip()
        if text.startswith("{"):
            body = request_json(request)
            fid = body.get("framework_id") or body.get("frameworkId")
            fid = fid.get("value") if isinstance(fid, dict) else fid
        else:
            fid = (urllib.parse.parse_qs(text).get("frameworkId") or [""])[0]
        if not isinstance(fid, str) or not fid:
            raise HttpError(400, "parameter 'frameworkId' is required")
        await on_actor(master, lambda: teardown(master, request.principal, fid))
        return HttpReply(status=200, content_type="text/plain")

    for prefix in ("", "/master"):
        server.route(prefix + "/teardown", teardown_call, methods=("POST",))
        server.route(prefix + "/reserve", reserve, methods=("POST",))
        server.route(prefix + "/unreserve", unreserve, methods=("POST",))
        server.route(prefix + "/create-volumes", volumes, methods=("POST",))
        server.route(prefix + "/destroy-volumes", volumes, methods=("POST",))
        for name in ("drain", "deactivate", "reactivate"):
            server.route(f"{prefix}/{name}", agent_call, methods=("POST",))
