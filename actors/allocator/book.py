"""Allocation bookkeeping shared by every allocator core (internal).

``AllocationBook`` records frameworks, agents, what is allocated to whom (per
framework, agent and role), refusal filters, the set of agents holding
allocatable resources, and the DRF sorter's totals and shares. The public
calls that drive it live in ``AllocatorCore``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from actors.allocator.errors import AllocatorError
from actors.allocator.quota import Quota
from actors.allocator.refusals import AgentFilters, add_filter, iter_filters, live
from actors.allocator.sorter import DRFSorter, dominant_share
from actors.interning import Interner
from actors.resources import EMPTY, Resources, is_allocatable
from actors.roles import is_subrole

__all__ = ["AgentState", "AllocationBook", "FrameworkState"]


class FrameworkState:
    """A framework as the allocator sees it: roles, suppressed roles, active, registration order."""

    __slots__ = ("active", "roles", "seq", "suppressed")

    def __init__(self, roles: list[str], suppressed: set[str], active: bool, seq: int) -> None:
        self.roles, self.suppressed, self.active, self.seq = roles, suppressed, active, seq


class AgentState:
    """An agent's total resources, the part of them not allocated, and whether it is
    active (a deactivated or draining agent is offered nothing)."""

    __slots__ = ("active", "available", "total")

    def __init__(self, total: Resources) -> None:
        self.total = self.available = total
        self.active = True


class AllocationBook:
    """State and record keeping of an allocator; see the module docstring."""

    def __init__(self, min_allocatable: tuple[Mapping[str, float], ...] | None = None) -> None:
        self._min = min_allocatable
        self._seq = itertools.count()
        self._frameworks: dict[str, FrameworkState] = {}
        self._agents: dict[str, AgentState] = {}
        # framework -> agent -> role -> allocated; also for frameworks not (yet) added
        self._alloc: dict[str, dict[str, dict[str, Resources]]] = {}
        # agent -> frameworks holding some of it, in the order they came: a tuple (a set was 216 bytes
        # even for one, and kept the size it once had), absent when none
        self._agent_fws: dict[str, tuple[str, ...]] = {}
        # framework -> role -> agent -> (refused resources, expiry), or a list of them when several
        # (actors.allocator.refusals); equal refused resources are one object (``_shared``)
        self._filters: dict[str, dict[str, AgentFilters]] = {}
        # One object for equal values kept long: refused resources, and what the recovery path leaves
        # on an agent and allocated to a framework there (homogeneous agents running alike hold alike)
        self._shared: Interner[Resources] = Interner()
        self._avail: dict[str, None] = {}  # agents with allocatable resources (ordered set)
        self._sorter = DRFSorter()
        self._quotas: dict[str, Quota] = {}  # role -> quota (guarantees, limits)

    def available(self, agent_id: str) -> Resources:
        """The agent's unallocated resources (empty if unknown)."""
        agent = self._agents.get(agent_id)
        return agent.available if agent else EMPTY

    def _filtered(self, framework_id: str, role: str, agent_id: str, offer: Resources, now: float) -> bool:
        per_role = self._filters.get(framework_id)
        per_agent = per_role.get(role) if per_role else None
        if not per_agent:
            return False
        return any(refused.contains(offer) for refused, _ in live(per_agent, agent_id, now))

    def _add_filter(self, framework_id: str, role: str, agent_id: str, refused: Resources, expiry: float) -> None:
        per_role = self._filters.setdefault(framework_id, {})
        add_filter(per_role.setdefault(role, {}), agent_id, self._shared.intern(refused), expiry)

    # ------------------------------------------------------- allocation records
    def _attribute(self, framework_id: str, res: Resources) -> dict[str, Resources]:
        """Split resources among the framework's roles: reserved ones to their
        own role if it is one of them, else to the first of its roles below
        the reservation's (``cpus(eng)`` used in ``eng/backend``), the rest to
        its first role."""
        f = self._frameworks.get(framework_id)
        first = f.roles[0] if f else "*"
        if not res.has_reservations():
            return {first: res} if res else {}
        out: dict[str, Resources] = {}
        for r in res.roles():
            part = res.unreserved() if r == "*" else res.reserved(r)
            if f is None or r in f.roles:
                target = r
            else:
                target = next((x for x in f.roles if r != "*" and is_subrole(x, r)), first)
            out[target] = out.get(target, EMPTY) + part
        return out

    def _track(self, framework_id: str, agent_id: str, res: Resources, role: str = "") -> None:
        """Count ``res`` as allocated to the framework on the agent: in ``role``
        if given (and one of its roles when it is known), else as ``_attribute`` splits it."""
        known = framework_id in self._frameworks
        f = self._frameworks.get(framework_id)
        parts = {role: res} if role and res and (f is None or role in f.roles) else self._attribute(framework_id, res)
        for role, part in parts.items():
            by_role = self._alloc.setdefault(framework_id, {}).setdefault(agent_id, {})
            by_role[role] = by_role.get(role, EMPTY) + part
            if known:
                self._sorter.allocate(framework_id, role, part.quantities())
        if res:
            self._hold(agent_id, framework_id)

    def _hold(self, agent_id: str, framework_id: str) -> None:
        """Record that the framework holds some of the agent."""
        fws = self._agent_fws.get(agent_id, ())
        if framework_id not in fws:
            self._agent_fws[agent_id] = (*fws, framework_id)

    def _let_go(self, agent_id: str, framework_id: str) -> None:
        """Record that the framework holds nothing of the agent any more."""
        rest = tuple(f for f in self._agent_fws.get(agent_id, ()) if f != framework_id)
        if rest:
            self._agent_fws[agent_id] = rest
        else:
            self._agent_fws.pop(agent_id, None)

    def _untrack(self, framework_id: str, agent_id: str, role: str, res: Resources, known: bool) -> None:
        per_agent = self._alloc[framework_id]
        by_role = per_agent[agent_id]
        left = by_role[role] - res
        if left:
            by_role[role] = self._shared.intern(left)
        else:
            del by_role[role]
            if not by_role:
                del per_agent[agent_id]
                self._let_go(agent_id, framework_id)
                if not per_agent:
                    del self._alloc[framework_id]
        if known:
            self._sorter.unallocate(framework_id, role, res.quantities())

    def _untrack_all(self, framework_id: str, agent_id: str, by_role: dict[str, Resources],
                     known: bool = True) -> Resources:
        known = known and framework_id in self._frameworks
        total = EMPTY
        for role, res in list(by_role.items()):
            self._untrack(framework_id, agent_id, role, res, known)
            total = total + res
        return total

    def _set_used(self, framework_id: str, agent_id: str, used: Resources | Mapping[str, Resources]) -> None:
        """``used``: resources, or role -> resources allocated in that role (role "": unknown)."""
        by_role = {"": used} if isinstance(used, Resources) else used
        if not isinstance(by_role, Mapping) or not all(
                isinstance(r, str) and isinstance(v, Resources) for r, v in by_role.items()):
            raise AllocatorError(f"used resources of {framework_id!r} on {agent_id!r} must be Resources "
                                 f"or role -> Resources, got {used!r}")
        old = self._alloc.get(framework_id, {}).get(agent_id)
        if old:
            self._release(framework_id, agent_id, self._untrack_all(framework_id, agent_id, old))
        agent = self._agents[agent_id]
        for role, res in by_role.items():
            agent.available = agent.available - res
            self._track(framework_id, agent_id, res, role)
        self._refresh(agent_id)

    def _release(self, framework_id: str, agent_id: str, res: Resources) -> None:
        agent = self._agents.get(agent_id)
        if agent is not None and res:
            agent.available = self._shared.intern(agent.available + res)
            self._refresh(agent_id)

    def _refresh(self, agent_id: str) -> None:
        agent = self._agents[agent_id]
        if agent.active and is_allocatable(agent.available, self._min):
            self._avail[agent_id] = None
        else:
            self._avail.pop(agent_id, None)

    # ----------------------------------------------------------------- queries
    def allocated(self, framework_id: str) -> dict[str, Resources]:
        """agent_id -> resources allocated to the framework (offered or in use)."""
        return {aid: sum(by_role.values(), EMPTY) for aid, by_role in self._alloc.get(framework_id, {}).items()}

    def shares(self) -> dict[str, float]:
        """framework_id -> dominant share of its allocation over all its roles."""
        acc: dict[str, dict[str, float]] = {fid: {} for fid in self._frameworks}
        for (fid, _), q in self._sorter.clients.items():
            if fid in acc:
                for name, v in q.items():
                    acc[fid][name] = acc[fid].get(name, 0.0) + v
        return {fid: dominant_share(q, self._sorter.total) for fid, q in acc.items()}

    def explain(self, framework_id: str, now: float) -> dict[str, Any] | None:
        """Why a framework gets offers or not (``/master/allocation``): active, suppressed roles,
        live decline filters (agent, refused resources, until), its dominant share beside the
        other frameworks of its roles. None if the allocator does not know it."""
        fw = self._frameworks.get(framework_id)
        if fw is None:
            return None
        filters = [{"agent_id": aid, "role": role, "resources": str(res), "until": until}
                    for role, per_agent in (self._filters.get(framework_id) or {}).items()
                    for aid, (res, until) in iter_filters(per_agent) if until > now]
        shares = self.shares()
        siblings = {role: sorted(({"framework_id": fid, "share": shares.get(fid, 0.0)}
                                  for fid, other in self._frameworks.items() if role in other.roles),
                                 key=lambda s: (s["share"], s["framework_id"]))
                    for role in fw.roles}
        return {"active": fw.active, "roles": list(fw.roles), "suppressed_roles": sorted(fw.suppressed),
                "filters": sorted(filters, key=lambda f: f["until"]), "share": shares.get(framework_id, 0.0),
                "role_shares": {r: self._sorter.role_share(r) for r in fw.roles}, "siblings": siblings}

    def role_shares(self) -> dict[str, float]:
        """role -> dominant share (unweighted) of all allocations in that role."""
        roles = {r for f in self._frameworks.values() for r in f.roles} | set(self._sorter.roles)
        return {r: self._sorter.role_share(r) for r in sorted(roles)}
