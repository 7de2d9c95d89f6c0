"""The object each ACL action is checked against, taken from Mesos' shapes as its local authorizer takes
it (pure; malformed entries are skipped: the operation's own validation refuses them).

- ``reserve_resources`` / ``create_volumes``: each resource's reservation role (the
  last of its ``reservations``, else its legacy ``role``).
- ``unreserve_resources``: the principal of each resource's last reservation ("" if none).
- ``destroy_volumes``: each volume's creator, ``disk.persistence.principal`` ("" if none).
- ``update_quota``: the role of each quota config.
- ``teardown_frameworks``: the framework's ``principal``.
- ``access_sandboxes`` / ``view_executors``: the executor's command user, else the framework's.

``refusal`` then names what an ACL refused, in the words a 403 or a FrameworkError uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from actors.reservations import stack_of
from actors.security.acls import ACTIONS, Acls

__all__ = ["OPERATION_ACTIONS", "executor_user", "operation_objects", "refusal", "resource_objects"]

#: The offer operation (and the operator call of the same effect) -> its action.
OPERATION_ACTIONS = {"RESERVE": "reserve_resources", "UNRESERVE": "unreserve_resources",
                     "CREATE": "create_volumes", "DESTROY": "destroy_volumes"}


def _reservation(d: Mapping[str, Any]) -> Mapping[str, Any]:
    stack = stack_of(d)
    return stack[-1] if stack else {}


def _object(action: str, d: Mapping[str, Any]) -> str:
    if action in ("reserve_resources", "create_volumes"):
        role = _reservation(d).get("role") or d.get("role") or "*"
        return str(role)
    if action == "unreserve_resources":
        return str(_reservation(d).get("principal") or "")
    disk = d.get("disk")
    persistence = disk.get("persistence") if isinstance(disk, Mapping) else None
    principal = persistence.get("principal") if isinstance(persistence, Mapping) else None
    return principal if isinstance(principal, str) else ""


def resource_objects(action: str, items: Any) -> list[str]:
    """The objects of ``action`` (one of OPERATION_ACTIONS' values) on the resource dicts ``items``."""
    if not isinstance(items, list):
        return []
    return [_object(action, d) for d in items if isinstance(d, Mapping)]


def operation_objects(op: Any) -> tuple[str, list[str]] | None:
    """An offer operation (``{"type": "RESERVE", "reserve": {"resources": [...]}}``) -> (action,
    objects); None for operations no ACL guards here (LAUNCH is run_tasks, per task)."""
    kind = op.get("type") if isinstance(op, Mapping) else None
    action = OPERATION_ACTIONS.get(kind) if isinstance(kind, str) else None
    if action is None:
        return None
    body = op.get(str(kind).lower())
    key = "volumes" if kind in ("CREATE", "DESTROY") else "resources"
    return action, resource_objects(action, body.get(key) if isinstance(body, Mapping) else None)


def executor_user(executor: Any, framework_user: str) -> str:
    """The user an executor runs as for the ACLs: its command's user, else the framework's."""
    command = executor.get("command") if isinstance(executor, Mapping) else None
    user = command.get("user") if isinstance(command, Mapping) else None
    return user if isinstance(user, str) and user else framework_user


def refusal(acls: Acls, action: str, principal: str | None, objects: Iterable[str | None]) -> str:
    """"" when ``principal`` may do ``action`` on every one of ``objects`` (None: an unknown one,
    which only an ANY object allows); else why not (naming the action, the principal and the
    refused objects)."""
    refused = sorted({o for o in objects if not acls.authorize(action, principal, o)}, key=str)
    if not refused:
        return ""
    key, object_key = ACTIONS[action]
    return f"Principal {principal!r} is not authorized to {action} ({object_key} {refused!r}: {key} ACL)"
