"""The allocator core: hierarchical DRF (the default), pure and sans-IO.

``AllocatorCore`` is both the base class of pluggable allocators and the
hierarchical DRF allocator. It is driven by method calls (time is passed in
as ``now``) and ``allocate(now)`` returns the offers to make; the actor shell
sends them. Its model, following Mesos' hierarchical allocator:

- An agent has a total and an available pool. Resources *allocated* to a
  framework (offered, or used by its tasks) leave the pool and count toward
  its DRF share until ``recover_resources`` gives them back.
- A client is one (framework, role). Roles form a tree (``eng/backend`` is a
  child of ``eng``; see ``actors.roles``). Each cycle, for every agent with
  allocatable resources (in a seeded shuffled order, as Mesos shuffles), the
  roles are tried in a pre-order walk of the tree in which the children of
  each node go by weighted dominant share, lowest first: the share of all
  that is allocated in the child's subtree over the child's weight (Mesos'
  hierarchical DRF sorter; see ``actors.allocator.roletree``). So a framework
  in ``eng/backend`` competes with ``eng``'s other children, and ``eng`` as a
  whole with its siblings. Within a role its clients go by dominant share,
  then by how many offers each has had (Mesos' allocation count: many idle
  frameworks do not starve one that arrives last), then registration order.
  The first client that is active, not suppressed in that role, and not
  filtered on that agent gets all of the agent's available resources that
  the role may use (unreserved, plus reserved to the role or to one of its
  ancestors, as Mesos' ``isAllocatableTo``), if they are
  allocatable (``actors.resources.is_allocatable``). Resources reserved to
  other roles stay for those roles' clients in the same cycle.
- Shares are kept incrementally; the children of each tree node and the
  clients of each role sit in heaps, rebuilt once per cycle (cluster totals
  may change between cycles). A cycle with no agent holding allocatable
  resources costs nothing.
- Filters are per (framework, role, agent), as Mesos': ``recover_resources(...,
  refuse_seconds=s, role=r)`` with s > 0 keeps the framework from being
  offered in role ``r`` (default: the roles the resources were allocated in),
  on that agent, resources that the refused ones contain, until ``now + s``
  (capped at 365 days; a negative or NaN ``s`` means
  ``default_refuse_seconds``, as Mesos). Its other roles are still offered
  what it declined in one. ``revive(roles)`` clears the filters of those
  roles (all if None); ``deactivate_framework`` clears all of them.
- ``allocate_roles`` says which role each allocated part is allocated in
  (the master labels the offer, and every resource in it, with that role).

Subclasses change the order by overriding ``_role_entry`` / ``_client_entry``
(see ``StrictPriorityAllocator``). A role entry's key may depend only on the
allocations in its subtree: a cycle re-keys only the entries allocations touched.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Mapping
from typing import Any

from actors.allocator import roletree
from actors.allocator.book import AgentState, AllocationBook, FrameworkState
from actors.allocator.cycle import AllocationCycle, RoleOffers
from actors.allocator.errors import AllocatorError
from actors.allocator.quota import Quota, check_quota
from actors.resources import EMPTY, Resources, is_allocatable
from actors.roles import role_error

__all__ = ["MAX_REFUSE_SECONDS", "AllocatorCore", "HierarchicalDRFAllocator", "Offers", "RoleOffers"]

MAX_REFUSE_SECONDS = 365 * 24 * 3600.0
Offers = dict[str, dict[str, Resources]]
Used = Resources | Mapping[str, Resources]


def _check_id(kind: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise AllocatorError(f"{kind} must be a non-empty string, got {value!r}")
    return value


def _check_roles(roles: Iterable[str], what: str = "role") -> list[str]:
    if isinstance(roles, str):
        raise AllocatorError(f"{what}s must be a list of strings, got {roles!r}")
    out: list[str] = []
    for role in roles:
        error = role_error(role)
        if error is not None:
            raise AllocatorError(f"bad {what} {role!r}: {error}")
        if role not in out:
            out.append(role)
    return out


class AllocatorCore(AllocationCycle):
    """Hierarchical DRF allocator core; see the module docstring.

    ``weights``: role -> weight (> 0, default 1). ``default_refuse_seconds``:
    the filter duration the shell should use when a decline carries no filter
    (kept as ``self.default_refuse_seconds``). ``seed``: the agent shuffle's
    seed. ``min_allocatable``: Mesos' ``--min_allocatable_resources`` as parsed
    by ``actors.resources.parse_min_allocatable`` (default cpus:0.01|mem:32).
    Unknown framework or agent ids are ignored by every call but the ``add_*``
    ones (the thing was removed meanwhile).
    """

    def __init__(self, *, weights: dict[str, float] | None = None, default_refuse_seconds: float = 5.0,
                 seed: int = 0, min_allocatable: Iterable[Mapping[str, float]] | None = None) -> None:
        if not isinstance(default_refuse_seconds, (int, float)) or not 0 <= default_refuse_seconds < math.inf:
            raise AllocatorError(f"default_refuse_seconds must be >= 0, got {default_refuse_seconds!r}")
        self.default_refuse_seconds = float(default_refuse_seconds)
        self._weights: dict[str, float] = {}
        self.set_weights(weights or {})
        self._rng = random.Random(seed)
        AllocationBook.__init__(self, None if min_allocatable is None else tuple(min_allocatable))

    # ------------------------------------------------------------ roles, weights
    def set_weights(self, weights: dict[str, float]) -> None:
        """Set the weights of the given roles (others keep theirs; default 1)."""
        for role, w in weights.items():
            _check_roles([role])
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w < math.inf:
                raise AllocatorError(f"weight of role {role!r} must be > 0, got {w!r}")
        self._weights.update({r: float(w) for r, w in weights.items()})

    def weight(self, role: str) -> float:
        return self._weights.get(role, 1.0)

    # --------------------------------------------------------------------- quota
    def set_quota(self, role: str, guarantees: Mapping[str, float] | None = None,
                  limits: Mapping[str, float] | None = None) -> None:
        """Set the role's quota (replacing any earlier one); see ``actors.allocator.quota``.
        Empty guarantees and limits remove it."""
        quota = check_quota(role, guarantees, limits)
        if quota.guarantees or quota.limits:
            self._quotas[role] = quota
        else:
            self._quotas.pop(role, None)

    def remove_quota(self, role: str) -> None:
        self._quotas.pop(role, None)

    def quotas(self) -> dict[str, Quota]:
        """role -> its Quota (a copy of the table)."""
        return dict(self._quotas)

    # ---------------------------------------------------------------- frameworks
    def add_framework(self, framework_id: str, roles: list[str], *, suppressed_roles: list[str] | None = None,
                      active: bool = True, used: Mapping[str, Used] | None = None) -> None:
        """Add a framework subscribed to ``roles`` (empty: ``["*"]``). ``used``:
        agent_id -> resources its tasks hold there (or role -> resources, the
        role they are allocated in); each pair replaces what an earlier
        ``add_agent(used=...)`` reported for it (never counted twice)."""
        _check_id("framework_id", framework_id)
        if framework_id in self._frameworks:
            raise AllocatorError(f"framework {framework_id!r} is already added")
        role_list = _check_roles(roles) or ["*"]
        suppressed = set(_check_roles(suppressed_roles or [], "suppressed role"))
        if not suppressed <= set(role_list):
            raise AllocatorError(f"suppressed roles {sorted(suppressed - set(role_list))} are not in {role_list}")
        self._frameworks[framework_id] = FrameworkState(role_list, suppressed, bool(active), next(self._seq))
        for agent_id, by_role in list(self._alloc.get(framework_id, {}).items()):
            for role, res in list(by_role.items()):
                self._untrack(framework_id, agent_id, role, res, False)
                self._track(framework_id, agent_id, res, role)
        for agent_id, held in (used or {}).items():
            if agent_id in self._agents:
                self._set_used(framework_id, agent_id, held)

    def update_framework_roles(self, framework_id: str, roles: list[str], *,
                               suppressed_roles: list[str] | None = None) -> None:
        """Change the roles; allocations made in dropped roles count there until
        recovered. ``suppressed_roles`` None keeps suppression of kept roles."""
        f = self._frameworks.get(framework_id)
        if f is None:
            return
        role_list = _check_roles(roles) or ["*"]
        suppressed = f.suppressed if suppressed_roles is None else set(_check_roles(suppressed_roles))
        f.roles, f.suppressed = role_list, suppressed & set(role_list)

    def remove_framework(self, framework_id: str) -> None:
        """Forget the framework; everything allocated to it returns to its agents
        (also what agents reported for it if it was never added)."""
        for agent_id, by_role in list(self._alloc.get(framework_id, {}).items()):
            self._release(framework_id, agent_id, self._untrack_all(framework_id, agent_id, by_role))
        self._frameworks.pop(framework_id, None)
        self._filters.pop(framework_id, None)
        self._sorter.forget(framework_id)

    def activate_framework(self, framework_id: str) -> None:
        f = self._frameworks.get(framework_id)
        if f is not None:
            f.active = True

    def deactivate_framework(self, framework_id: str) -> None:
        """No offers while inactive; clears its filters (as Mesos)."""
        f = self._frameworks.get(framework_id)
        if f is not None:
            f.active = False
            self._filters.pop(framework_id, None)

    def revive(self, framework_id: str, roles: list[str] | None = None) -> None:
        """Clear the framework's filters in ``roles`` and unsuppress them (all if None)."""
        f = self._frameworks.get(framework_id)
        if f is not None:
            own = self._own_roles(f, roles)
            f.suppressed -= set(own)
            per_role = self._filters.get(framework_id)
            if per_role is not None:
                for role in own:
                    per_role.pop(role, None)
                if not per_role:
                    del self._filters[framework_id]

    def suppress(self, framework_id: str, roles: list[str] | None = None) -> None:
        """No offers in ``roles`` (all if None) until revived."""
        f = self._frameworks.get(framework_id)
        if f is not None:
            f.suppressed |= set(self._own_roles(f, roles))

    @staticmethod
    def _own_roles(f: FrameworkState, roles: list[str] | None) -> list[str]:
        if roles is None:
            return f.roles
        bad = [r for r in roles if r not in f.roles]
        if bad:
            raise AllocatorError(f"roles {bad} are not among the framework's roles {f.roles}")
        return roles

    # -------------------------------------------------------------------- agents
    def add_agent(self, agent_id: str, total: Resources, *, used: Mapping[str, Used] | None = None,
                  active: bool = True) -> None:
        """Add an agent; ``used``: framework_id -> resources its tasks hold there,
        or role -> resources as in ``add_framework`` (frameworks not added yet
        are tracked and counted when they are); ``active`` False: as ``deactivate_agent``."""
        _check_id("agent_id", agent_id)
        if agent_id in self._agents:
            raise AllocatorError(f"agent {agent_id!r} is already added")
        if not isinstance(total, Resources):
            raise AllocatorError(f"total of agent {agent_id!r} must be Resources, got {total!r}")
        self._agents[agent_id] = AgentState(total)
        self._agents[agent_id].active = bool(active)
        self._sorter.add_total(total.quantities())
        for framework_id, res in (used or {}).items():
            self._set_used(_check_id("framework_id", framework_id), agent_id, res)
        self._refresh(agent_id)

    def deactivate_agent(self, agent_id: str) -> None:
        """Offer nothing of the agent until ``activate_agent`` (Mesos' DEACTIVATE_AGENT, draining)."""
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.active = False
            self._refresh(agent_id)

    def activate_agent(self, agent_id: str) -> None:
        agent = self._agents.get(agent_id)
        if agent is not None:
            agent.active = True
            self._refresh(agent_id)

    def remove_agent(self, agent_id: str) -> None:
        """Forget the agent and every allocation on it."""
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            return
        for framework_id in list(self._agent_fws.get(agent_id, ())):
            self._untrack_all(framework_id, agent_id, self._alloc[framework_id][agent_id])
        self._agent_fws.pop(agent_id, None)
        self._sorter.remove_total(agent.total.quantities())
        self._avail.pop(agent_id, None)
        for per_role in self._filters.values():
            for per_agent in per_role.values():
                per_agent.pop(agent_id, None)

    # ---------------------------------------------------------- reservations
    def update_allocation(self, framework_id: str, agent_id: str, role: str, consumed: Resources,
                          converted: Resources) -> None:
        """An operation on offered resources (RESERVE, UNRESERVE...): ``consumed``, allocated
        to the framework in ``role`` on the agent, becomes ``converted`` there and in the
        agent's total. AllocatorError if they are not allocated so."""
        agent = self._agents.get(agent_id)
        held = self._alloc.get(framework_id, {}).get(agent_id, {}).get(role)
        if agent is None or held is None or not held.contains(consumed):
            raise AllocatorError(f"{consumed} is not allocated to {framework_id!r} in role {role!r} on {agent_id!r}")
        known = framework_id in self._frameworks
        self._untrack(framework_id, agent_id, role, consumed, known)
        self._track(framework_id, agent_id, converted, role)
        self._retotal(agent, consumed, converted)

    def update_available(self, agent_id: str, consumed: Resources, converted: Resources) -> None:
        """An operator's operation (RESERVE_RESOURCES...) on unallocated resources of the agent;
        AllocatorError if they are not all unallocated."""
        agent = self._agents.get(agent_id)
        if agent is None or not agent.available.contains(consumed):
            raise AllocatorError(f"{consumed} is not unallocated on agent {agent_id!r}"
                                 + (f" (unallocated: {agent.available})" if agent else " (no such agent)"))
        agent.available = agent.available - consumed + converted
        self._retotal(agent, consumed, converted)
        self._refresh(agent_id)

    def _retotal(self, agent: AgentState, consumed: Resources, converted: Resources) -> None:
        self._sorter.remove_total(consumed.quantities())
        self._sorter.add_total(converted.quantities())
        agent.total = agent.total - consumed + converted

    # ---------------------------------------------------------------- recovery
    def recover_resources(self, framework_id: str, agent_id: str, resources: Resources, *,
                          refuse_seconds: float | None = None, now: float = 0.0, role: str | None = None) -> None:
        """Return resources allocated to the framework on the agent to the pool.
        Only what is allocated there is recovered (the rest is ignored); ``role``
        says which role's allocation to take from first (default: all, in order).
        ``refuse_seconds`` > 0 installs a filter (see the module docstring)."""
        if refuse_seconds is not None and (isinstance(refuse_seconds, bool)
                                           or not isinstance(refuse_seconds, (int, float))):
            raise AllocatorError(f"refuse_seconds must be a number, got {refuse_seconds!r}")
        agent = self._agents.get(agent_id)
        by_role = self._alloc.get(framework_id, {}).get(agent_id)
        if agent is None or by_role is None:
            return
        known = framework_id in self._frameworks
        roles = sorted(by_role, key=lambda r: r != role)
        remaining, recovered, taken_from = resources, EMPTY, []
        for r in roles:
            held = by_role[r]
            take = held if held == remaining else held & remaining
            if take:
                self._untrack(framework_id, agent_id, r, take, known)
                recovered, remaining = recovered + take, remaining - take
                taken_from.append(r)
                if not remaining:
                    break
        self._release(framework_id, agent_id, recovered)
        if refuse_seconds is None or not known or refuse_seconds == 0:
            return
        if math.isnan(refuse_seconds) or refuse_seconds < 0:
            refuse_seconds = self.default_refuse_seconds
        if refuse_seconds > 0:
            expiry = now + min(float(refuse_seconds), MAX_REFUSE_SECONDS)
            for r in [role] if role is not None else taken_from:
                self._add_filter(framework_id, r, agent_id, resources, expiry)

    # ---------------------------------------------------------------- ordering
    def _role_entry(self, path: str, virtual: bool) -> tuple[Any, ...]:
        """Sort key of a node of the role tree among its siblings, lowest first:
        the subtree's dominant share over the role's weight; for a virtual leaf
        (``virtual``: the role's own frameworks beside its subroles) the share
        of exactly that role, weight 1, labelled ``path + "/."`` as in Mesos."""
        if virtual:
            return (self._sorter.role_share(path), path + "/.")
        return (self._sorter.subtree_share(path) / self._weights.get(path, 1.0), path)

    def _client_entry(self, framework_id: str, role: str, seq: int) -> tuple[Any, ...]:
        """Heap entry of a client in its role, lowest first; the id is the last item. Equal
        shares go to the client offered least (Mesos' allocation count), then the earliest."""
        sorter = self._sorter
        return (sorter.client_share(framework_id, role), sorter.offers.get((framework_id, role), 0), seq, framework_id)

    def _client_heaps(self) -> dict[str, list[tuple[Any, ...]]]:
        """role -> heap of its candidate clients (active, not suppressed in it)."""
        heaps: dict[str, list[tuple[Any, ...]]] = {}
        for fid, f in self._frameworks.items():
            if f.active:
                for role in f.roles:
                    if role not in f.suppressed:
                        heaps.setdefault(role, []).append(self._client_entry(fid, role, f.seq))
        for h in heaps.values():
            heapq.heapify(h)
        return heaps

    def role_order(self) -> list[str]:
        """The roles with candidate clients, in the order an allocation would try
        them on an agent now (Mesos' ``roleSorter->sort()``)."""
        return roletree.order(roletree.build(self._client_heaps(), self._role_entry))

    # -------------------------------------------------------------- allocation
    def allocate(self, now: float) -> Offers:
        """One cycle: framework_id -> {agent_id -> resources offered}; those are
        now allocated to the framework until recovered. ``allocate_roles``
        also says in which role each part is allocated."""
        return {fid: {aid: (next(iter(by_role.values())) if len(by_role) == 1 else sum(by_role.values(), EMPTY))
                      for aid, by_role in per_agent.items()}
                for fid, per_agent in self.allocate_roles(now).items()}


class HierarchicalDRFAllocator(AllocatorCore):
    """The default allocator: hierarchical DRF, exactly ``AllocatorCore``."""
