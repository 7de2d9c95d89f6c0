"""What a principal may see of a master's or an agent's state: the view_frameworks, view_tasks and
view_executors ACLs applied to the JSON of /master/state and /master/frameworks (``filter_state``), and,
through a ``Viewer``, to the records behind /master/tasks, /master/state-summary, the v1 operator
views and event stream, and the agent's /state (pure; returns new dicts, never changes its input,
which may be shared between requests).

A framework is visible when ``view_frameworks`` allows its ``user``; a task of a
visible framework when ``view_tasks`` allows the task's user (its command's,
else the framework's); an executor of a visible framework when ``view_executors``
allows its command's user (else the framework's). Hidden frameworks take their
tasks, executors and offers with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.security.acls import Acls
from actors.security.role_visibility import role_viewer

__all__ = ["Viewer", "filter_frameworks", "filter_state", "may_view_task", "restricted", "state_restricted", "viewer"]

Dict = dict[str, Any]
_TASK_LISTS = ("tasks", "completed_tasks", "unreachable_tasks")


def _framework(acls: Acls, principal: str | None, fw: Dict) -> Dict | None:
    user = str(fw.get("user") or "")  # "" (the agent's user) is a value like any other
    if not acls.authorize("view_frameworks", principal, user):
        return None
    if not acls.restricts("view_tasks"):
        return fw
    out = dict(fw)
    for key in _TASK_LISTS:
        if isinstance(fw.get(key), list):
            out[key] = [t for t in fw[key] if acls.authorize("view_tasks", principal, t.get("user") or user)]
    return out


def filter_frameworks(acls: Acls, principal: str | None, frameworks: list[Dict]) -> list[Dict]:
    return [f for f in (_framework(acls, principal, fw) for fw in frameworks) if f is not None]


def filter_state(acls: Acls, principal: str | None, state: Dict) -> Dict:
    """``state`` (a /master/state or /master/frameworks dict) as ``principal`` may see it: its
    frameworks and tasks (view_frameworks, view_tasks), its agents' reservations and its quota
    (view_roles, get_quotas: actors/security/role_visibility.py)."""
    roles = role_viewer(acls, principal)
    if not restricted(acls) and roles is None:
        return state
    out = dict(state)
    for key in ("frameworks", "completed_frameworks"):
        if restricted(acls) and isinstance(state.get(key), list):
            out[key] = filter_frameworks(acls, principal, state[key])
    return roles.state(out) if roles is not None else out


def may_view_task(acls: Acls, principal: str | None, framework_user: str, task_user: str = "") -> bool:
    """view_frameworks for the framework's user, then view_tasks for the task's (else the framework's)."""
    return acls.authorize("view_frameworks", principal, framework_user) and \
        acls.authorize("view_tasks", principal, task_user or framework_user)


def restricted(acls: Acls) -> bool:
    """False when every principal sees everything (no filtering needed)."""
    return acls.restricts("view_frameworks") or acls.restricts("view_tasks")


def state_restricted(acls: Acls) -> bool:
    """False when ``filter_state`` shows every principal everything."""
    return restricted(acls) or role_viewer(acls, None) is not None


@dataclass(frozen=True)
class Viewer:
    """What ``principal`` (None: anonymous) may see, by ``acls``; users are "" when none is set."""

    acls: Acls
    principal: str | None

    def framework(self, user: str) -> bool:
        return self.acls.authorize("view_frameworks", self.principal, user)

    def task(self, framework_user: str, task_user: str = "") -> bool:
        return may_view_task(self.acls, self.principal, framework_user, task_user)

    def executor(self, framework_user: str, executor_user: str = "") -> bool:
        return self.framework(framework_user) and \
            self.acls.authorize("view_executors", self.principal, executor_user or framework_user)


def viewer(acls: Acls, principal: str | None) -> Viewer | None:
    """The principal's Viewer; None when everyone sees everything (no filtering needed)."""
    if not (restricted(acls) or acls.restricts("view_executors")):
        return None
    return Viewer(acls, principal)
