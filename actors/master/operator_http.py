"""The master's operator endpoints that change state (Mesos' v0 paths and JSON shapes).

``/quota`` (GET, POST, DELETE ``/quota/<role>``); each calls a plain
``MasterProcess`` method on the master's thread (the same methods the v1
operator API calls), and a refused request answers 400 with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from actors.http_common import on_actor
from actors.master.process import MasterProcess
from actors.master.quota_json import QuotaError
from transport.http import HttpError, HttpReply, HttpRequest, HttpServer, json_reply

__all__ = ["OPERATOR_ERRORS", "install_operator_routes", "request_json"]

OPERATOR_ERRORS: tuple[type[Exception], ...] = (QuotaError,)


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


def install_operator_routes(server: HttpServer, master: MasterProcess) -> None:
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
