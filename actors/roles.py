"""Role names and the role tree (pure): Mesos' rules from ``src/common/roles.cpp``.

A role is ``*`` (the default role of unreserved resources) or a path of one
or more components joined by ``/``: ``eng/backend`` is a subrole of ``eng``.
A component must not be empty, ``.``, ``..`` or ``*``, must not start with
``-``, and must not hold whitespace or control characters (Mesos' rules), nor
any of ``;:()[]{},|`` (they delimit roles in mesopy's resource text, as in
``cpus(eng/backend):2``, and in the ``--roles`` / ``--weights`` flags).
"""

from __future__ import annotations

__all__ = ["ancestors", "is_subrole", "parent", "role_error"]

_DELIMITERS = frozenset(";:()[]{},|")


def role_error(role: object) -> str | None:
    """Why ``role`` is not a valid role name (Mesos' wording), or None if it is."""
    if not isinstance(role, str):
        return f"Role {role!r} is not a string"
    if role == "*":
        return None
    if not role:
        return "Role names cannot be the empty string"
    if role.startswith("/"):
        return f"Role '{role}' cannot start with a slash"
    if role.endswith("/"):
        return f"Role '{role}' cannot end with a slash"
    if "//" in role:
        return f"Role '{role}' cannot contain two adjacent slashes"
    for component in role.split("/"):
        if component in (".", "..", "*"):
            return f"Role '{role}' cannot include '{component}' as a component"
        if component.startswith("-"):
            return f"Role component '{component}' is invalid because it starts with a dash"
        if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in component):
            return f"Role component {component!r} is invalid because it contains whitespace or a control character"
        bad = next((c for c in component if c in _DELIMITERS), None)
        if bad is not None:
            return f"Role component '{component}' is invalid because it contains {bad!r}"
    return None


def parent(role: str) -> str:
    """``eng/backend`` -> ``eng``; a top-level role (and ``*``) -> ``""`` (the root)."""
    return role.rpartition("/")[0]


def ancestors(role: str) -> list[str]:
    """The role's strict ancestors, nearest first: ``a/b/c`` -> ``["a/b", "a"]``."""
    out: list[str] = []
    path = parent(role)
    while path:
        out.append(path)
        path = parent(path)
    return out


def is_subrole(role: str, of: str) -> bool:
    """Whether ``role`` is ``of`` or one of its descendants (``eng/backend`` of ``eng``)."""
    return role == of or (role.startswith(of) and role[len(of):len(of) + 1] == "/")
