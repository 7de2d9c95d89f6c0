"""What a principal may see of roles (the ``view_roles`` ACL, object: the role; ``get_quotas`` for
quota entries), as Mesos' master filters its role listings (pure; new dicts, inputs unchanged).

- /master/roles and v1 ``GET_ROLES``: only the roles ``view_roles`` allows; in each, only the
  frameworks the principal may see (``view_frameworks``), so no listing names a hidden framework
  (Mesos lists every framework of a visible role; mesopy is stricter here).
- quota statuses (/quota, v1 ``GET_QUOTA``, /master/state's ``quota``): the entries of roles both
  ``get_quotas`` (Mesos' check) and ``view_roles`` (the roles listing shows quotas too) allow.
- a resource (agents' resources in /master/state, /master/slaves, v1 ``GET_AGENTS``): visible when
  every role it names is: its legacy ``role`` (unless ``*``), each of its ``reservations``
  (a path: each entry is a child of the one before) and its ``allocation_info`` role.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from actors.security.acls import Acls

__all__ = ["RoleViewer", "role_viewer"]

Dict = dict[str, Any]
#: The per-agent resource lists of /master/state and /master/slaves whose items are Mesos resource dicts.
_FULL_LISTS = ("unreserved_resources_full", "used_resources_full", "offered_resources_full")


def _resource_roles(d: Mapping[str, Any]) -> list[str]:
    roles = []
    role = d.get("role")
    if isinstance(role, str) and role != "*":
        roles.append(role)
    for entry in d.get("reservations") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("role"), str):
            roles.append(entry["role"])
    allocation = d.get("allocation_info")
    if isinstance(allocation, Mapping) and isinstance(allocation.get("role"), str):
        roles.append(allocation["role"])
    return roles


@dataclass(frozen=True)
class RoleViewer:
    """The roles ``principal`` (None: anonymous) may see, by ``acls``."""

    acls: Acls
    principal: str | None

    def role(self, name: str) -> bool:
        return self.acls.authorize("view_roles", self.principal, name)

    def resource(self, d: Any) -> bool:
        return isinstance(d, Mapping) and all(self.role(r) for r in _resource_roles(d))

    def resources(self, items: Any) -> list[Any]:
        return [d for d in items if self.resource(d)] if isinstance(items, list) else []

    def quota_status(self, status: Mapping[str, Any]) -> Dict:
        """A QuotaStatus (``infos``, ``configs``) with only the roles the principal may see the quota of."""
        def shown(entry: Any) -> bool:
            role = str(entry.get("role", "")) if isinstance(entry, Mapping) else ""
            return self.role(role) and self.acls.authorize("get_quotas", self.principal, role)
        return {k: [e for e in v if shown(e)] if k in ("infos", "configs") and isinstance(v, list) else v
                for k, v in status.items()}

    def roles(self, doc: Mapping[str, Any], frameworks: Collection[str] | None) -> Dict:
        """/master/roles or GET_ROLES (``{"roles": [{"name", "frameworks", "quota"?...}]}``): the visible
        roles, each with only the ``frameworks`` (ids, or ``{"value": id}``) in ``frameworks`` (None: all)."""
        out = []
        for entry in doc.get("roles") or ():
            if not self.role(str(entry.get("name", ""))):
                continue
            entry = dict(entry)
            if frameworks is not None:
                entry["frameworks"] = [f for f in entry.get("frameworks") or ()
                                       if (f.get("value") if isinstance(f, Mapping) else f) in frameworks]
            out.append(entry)
        return {**doc, "roles": out}

    def role_map(self, by_role: Mapping[str, Any]) -> Dict:
        """A ``{role: ...}`` map (an agent's ``reserved_resources``, the allocator's role shares) without hidden roles."""
        return {role: v for role, v in by_role.items() if self.role(role)}

    def agent(self, agent: Mapping[str, Any]) -> Dict:
        """A /master/state or /master/slaves agent with only the reservations and resources of visible roles."""
        out = dict(agent)
        if isinstance(agent.get("reserved_resources"), Mapping):
            out["reserved_resources"] = self.role_map(agent["reserved_resources"])
        if isinstance(agent.get("reserved_resources_full"), Mapping):
            out["reserved_resources_full"] = {r: self.resources(v) for r, v in
                                              self.role_map(agent["reserved_resources_full"]).items()}
        for key in _FULL_LISTS:
            if key in agent:
                out[key] = self.resources(agent[key])
        return out

    def agent_v1(self, agent: Mapping[str, Any]) -> Dict:
        """A v1 ``GET_AGENTS`` agent (or an ``AGENT_ADDED`` event's) with only resources of visible roles."""
        out = {k: self.resources(v) if k.endswith("_resources") else v for k, v in agent.items()}
        info = agent.get("agent_info")
        if isinstance(info, Mapping) and "resources" in info:
            out["agent_info"] = {**info, "resources": self.resources(info["resources"])}
        return out

    def state(self, state: Mapping[str, Any]) -> Dict:
        """/master/state's role-bearing fields: its agents' reservations and resources, its ``quota``."""
        out = dict(state)
        if isinstance(state.get("slaves"), list):
            out["slaves"] = [self.agent(a) for a in state["slaves"]]
        if isinstance(state.get("quota"), Mapping):
            out["quota"] = self.quota_status(state["quota"])
        return out


def role_viewer(acls: Acls, principal: str | None) -> RoleViewer | None:
    """The principal's RoleViewer; None when every principal sees every role and quota."""
    if not (acls.restricts("view_roles") or acls.restricts("get_quotas")):
        return None
    return RoleViewer(acls, principal)
