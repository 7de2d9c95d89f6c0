"""The master's HTTP security: Basic authentication and get_endpoints on every request (the server's
guard), ``forbid_unless`` (403 naming the action) for the endpoints that change state, and the views
filtered by view_frameworks / view_tasks / view_roles for the asking principal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from actors.http_common import Coalesced, encoded, install_guard
from actors.master.core import MasterCore
from actors.master.process import MasterProcess
from actors.master.model import Task
from actors.security.acls import Acls
from actors.security.http_auth import HttpGuard
from actors.security.role_visibility import RoleViewer, role_viewer
from actors.security.visibility import filter_state, may_view_task, restricted, state_restricted, viewer
from transport.http import Handler, HttpError, HttpReply, HttpRequest, HttpServer

__all__ = ["forbid_unless", "install_http_guard", "quota_seen", "roles_seen", "task_visibility", "visible_frameworks",
           "visible_view"]


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
    if not state_restricted(acls):
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


def visible_frameworks(core: MasterCore, principal: str | None) -> set[str] | None:
    """On the master's thread: the ids of the frameworks ``principal`` may see (None: all)."""
    seen = viewer(core.security.acls, principal)
    if seen is None:
        return None
    return {fw.framework_id for fw in (*core.frameworks.values(), *core.completed_frameworks)
            if seen.framework(str(fw.info.get("user") or ""))}


def roles_seen(core: MasterCore, principal: str | None, doc: dict[str, Any]) -> dict[str, Any]:
    """On the master's thread: /master/roles or GET_ROLES (``doc``) with only the roles ``principal``
    may see (view_roles), each naming only the frameworks it may see (view_frameworks)."""
    roles, frameworks = role_viewer(core.security.acls, principal), visible_frameworks(core, principal)
    if roles is None and frameworks is None:
        return doc
    return (roles or RoleViewer(Acls(), principal)).roles(doc, frameworks)


def quota_seen(core: MasterCore, principal: str | None, status: dict[str, Any]) -> dict[str, Any]:
    """A QuotaStatus with only the roles whose quota ``principal`` may see (get_quotas and view_roles)."""
    roles = role_viewer(core.security.acls, principal)
    return status if roles is None else roles.quota_status(status)
