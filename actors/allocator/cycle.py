"""One allocation cycle of the allocator cores (internal): the walk over agents and roles.

``AllocationCycle.allocate_roles(now)`` is the cycle ``AllocatorCore``'s
docstring describes. Without quota it is one stage: for every agent with
allocatable resources (in a seeded shuffled order) a pre-order walk of the
role tree offers the agent's resources to the first eligible client. With
quota (``actors.allocator.quota``) it is Mesos' two stages: first the roles
with an unsatisfied guarantee, offered up to it, then every role, offered
what the limits allow and leaves the required headroom unallocated.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from actors.allocator import roletree
from actors.allocator.book import AllocationBook
from actors.allocator.quota import QuotaCycle
from actors.resources import Resources, is_allocatable
from actors.roles import is_subrole

__all__ = ["AllocationCycle", "RoleOffers"]

RoleOffers = dict[str, dict[str, dict[str, Resources]]]
Heaps = dict[str, list[tuple[Any, ...]]]


class AllocationCycle(AllocationBook):
    """The cycle over an ``AllocationBook``; the orders come from the subclass."""

    _rng: random.Random

    def _role_entry(self, path: str, virtual: bool) -> tuple[Any, ...]:
        raise NotImplementedError

    def _client_entry(self, framework_id: str, role: str, seq: int) -> tuple[Any, ...]:
        raise NotImplementedError

    def _client_heaps(self) -> Heaps:
        raise NotImplementedError

    def quota_cycle(self) -> QuotaCycle:
        """The quota state now (consumption, free unreserved resources, headroom)."""
        sorter = self._sorter
        allocated: dict[str, dict[str, float]] = {}
        for role in self._quotas:
            q = dict(sorter.roles.get(role, {}))
            for name, v in sorter.below.get(role, {}).items():
                q[name] = q.get(name, 0.0) + v
            allocated[role] = q
        return QuotaCycle(self._quotas, allocated, (a.available for a in self._agents.values() if a.active))

    def allocate_roles(self, now: float) -> RoleOffers:
        """One cycle: framework_id -> {agent_id -> {role -> resources offered}},
        each part allocated to the framework in that role until recovered (so
        a framework of several roles gets one offer per role, as Mesos')."""
        if not self._avail:
            return {}
        heaps = self._client_heaps()
        if not heaps:
            return {}
        order = list(self._avail)
        self._rng.shuffle(order)
        offers: RoleOffers = {}
        quota = self.quota_cycle() if self._quotas else None
        if quota is not None:
            stage1 = {r: h for r, h in heaps.items() if quota.unsatisfied(r)}
            if stage1:
                self._stage(order, stage1, now, offers, quota, True)
        self._stage(order, heaps, now, offers, quota, False)
        return offers

    def _stage(self, order: list[str], heaps: Heaps, now: float, offers: RoleOffers,
               quota: QuotaCycle | None, stage1: bool) -> None:
        role_entry = self._role_entry
        tree = roletree.build(heaps, role_entry)
        root = tree[""]
        pop, push, mn, node_kind, rekey = heapq.heappop, heapq.heappush, self._min, roletree.NODE, roletree.rekey
        affected = roletree.affected
        filters, frameworks, alloc, hold = self._filters, self._frameworks, self._alloc, self._hold
        allocate_q = self._sorter.allocate
        for aid in order:
            if aid not in self._avail:
                continue
            if stage1 and quota is not None and not quota.any_unsatisfied():
                break  # every guarantee is met: the rest is stage 2's
            agent = self._agents[aid]
            avail = agent.available
            # A pre-order walk of the role tree, each node's children lowest entry first;
            # the order is fixed for this agent (as Mesos sorts once per agent): what is
            # popped goes back, re-keyed, once the agent is done.
            popped: list[tuple[list[roletree.Entry], roletree.Entry]] = []
            stack = [root]
            touched: list[str] = []  # roles allocated on this agent: only their entries are re-keyed
            reserved_only = avail.roles() if avail.has_reservations() and not avail.unreserved() else None
            while stack and avail:
                level = stack[-1]
                if not level:
                    stack.pop()
                    continue
                rentry = pop(level)
                popped.append((level, rentry))
                _, role, kind = rentry
                if kind == node_kind:
                    stack.append(tree[role])
                    continue
                if reserved_only is not None and not any(is_subrole(role, r) for r in reserved_only):
                    continue  # only others' reservations are left here
                if stage1 and quota is not None and not quota.unsatisfied(role):
                    continue  # met meanwhile
                offer = avail.for_role(role)
                if quota is not None:
                    offer = quota.cap(role, offer, stage1)
                chosen = None
                if is_allocatable(offer, mn):
                    fheap, skipped = heaps[role], []
                    while fheap:
                        fentry = pop(fheap)
                        if filters and fentry[-1] in filters and self._filtered(fentry[-1], role, aid, offer, now):
                            skipped.append(fentry)
                            continue
                        chosen = fentry[-1]
                        break
                    for e in skipped:
                        push(fheap, e)
                if chosen is None:
                    continue
                touched.append(role)
                avail = avail - offer
                if avail.has_reservations() and not avail.unreserved():
                    reserved_only = avail.roles()
                if quota is not None:
                    quota.allocated(role, offer)
                by_agent = alloc.get(chosen)
                if by_agent is None:
                    by_agent = alloc[chosen] = {}
                by_role = by_agent.get(aid)
                if by_role is None:
                    by_role = by_agent[aid] = {}
                    hold(aid, chosen)
                prev = by_role.get(role)
                by_role[role] = offer if prev is None else prev + offer
                allocate_q(chosen, role, offer.quantities())
                self._sorter.offered(chosen, role)
                mine = offers.get(chosen)
                if mine is None:
                    mine = offers[chosen] = {}
                roles_here = mine.get(aid)
                if roles_here is None:
                    roles_here = mine[aid] = {}
                prev = roles_here.get(role)
                roles_here[role] = offer if prev is None else prev + offer
                push(heaps[role], self._client_entry(chosen, role, frameworks[chosen].seq))
            for level, rentry in popped:
                push(level, rekey(rentry, role_entry) if touched and affected(rentry, touched) else rentry)
            agent.available = avail
            if not is_allocatable(avail, mn):
                del self._avail[aid]



