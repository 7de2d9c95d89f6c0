"""The master's HTTP security: Basic authentication and get_endpoints on every request (the server's
guard), ``forbid_unless`` (403 naming the action) for the endpoints that change state, and the views
filtered by view_frameworks / view_tasks for the asking principal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from actors.http_common import Coalesced, encoded, install_guard
from actors.master.process import MasterProcess
from actors.master.model import Task
from actors.security.http_auth import HttpGuard
from actors.security.visibility import filter_state, may_view_task, restricted
from transport.http import Handler, HttpError, HttpReply, HttpRequest, HttpServer

__all__ = ["forbid_unless", "install_http_guard", "task_visibility", "visible_view"]


def forbid_unless(master: MasterProcess, action: str, principal: str | None, objects: Iterable[str | None]) -> None:
    """HttpError 403 naming the action unless ``principal`` may do it on each of ``objects``
    (counted as ``master/security/<action>/not_authorized``). Any thread."""
    text = master.core.security.permit(action, principal, objects, action, "http")
    if text:
        raise HttpError(403, text)


def install_http_guard(server: HttpServer, master: MasterProcess) -> HttpGuard:
    """Put the guard of ``--authenticate_http_*`` and ``--acls`` on ``server``; returns it (its counters)."""
    security = master.core.security
    return install_guard(server, HttpGuard(security.credentials, security.acls, master.config.http_authenticate()))


def visible_view(master: MasterProcess, build: Callable[[], dict[str, Any]]) -> Handler | None:
    """A handler answering ``build()`` (a state-shaped dict) filtered for the request's principal;
    None when the ACLs let everyone see everything (the plain, coalesced view serves then)."""
    acls = master.core.security.acls
    if not restricted(acls):
        return None
    shared = Coalesced(master, build)  # one build for concurrent requests; filtered per request

    async def handler(request: HttpRequest) -> HttpReply:
        return HttpReply(body=encoded(filter_state(acls, request.principal, await shared())))
    return handler


def task_visibility(master: MasterProcess, principal: str | None) -> Callable[[Task], bool] | None:
    """On the master's thread: whether ``principal`` may see a task (None: it may see all)."""
    core = master.core
    acls = core.security.acls
    if not restricted(acls):
        return None
    users = {fw.framework_id: str(fw.info.get("user") or "")
             for fw in (*core.frameworks.values(), *core.completed_frameworks)}
    return lambda task: may_view_task(acls, principal, users.get(task.framework_id, ""), task.user)
