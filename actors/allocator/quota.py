"""Quota (Mesos 1.9+ semantics) for the allocator cores: guarantees and limits per role.

Pure. A ``Quota`` holds scalar ``guarantees`` and ``limits`` (name -> amount;
a name without a limit is unlimited). Quota applies to a role's subtree: what
``eng/backend`` holds counts toward ``eng``'s quota. A role's *consumption* is,
as in Mesos, everything allocated in its subtree (offered or used, reserved or
not) plus the reservations to its subtree that are not allocated.

``QuotaCycle`` is the bookkeeping of one allocation cycle:

- ``limits``: the unreserved part of what a role is offered is cut so that its
  consumption, and that of every ancestor with a limit, stays within the limit
  (reserved resources already count, so they are never cut);
- ``guarantees``: the unsatisfied part of every guarantee (of the top-most
  roles with guarantees, so that nested guarantees are not counted twice) is
  the *required headroom*: unreserved resources that stay unallocated for
  those roles. First (stage 1) the roles with an unsatisfied guarantee, in
  their own subtree, are offered up to that guarantee; then (stage 2) every
  role is offered only what leaves the required headroom unallocated. So a
  role that declines (is filtered) or has no framework still has its
  guarantee set aside.

Quota names only scalars (cpus, mem, disk, gpus, custom scalars); ranges such
as ports are never cut.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from actors.allocator.errors import AllocatorError
from actors.resources import Resources
from actors.roles import ancestors, is_subrole, role_error

__all__ = ["Quota", "QuotaCycle", "check_quota", "cut_unreserved"]

_EPS = 1e-9


@dataclass(frozen=True)
class Quota:
    """A role's guarantees and limits (scalar name -> amount)."""

    guarantees: Mapping[str, float] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self, role: str) -> dict[str, object]:
        """Mesos' ``QuotaConfig`` JSON."""
        return {"role": role, "guarantees": {n: {"value": v} for n, v in sorted(self.guarantees.items())},
                "limits": {n: {"value": v} for n, v in sorted(self.limits.items())}}


def _amounts(role: str, what: str, values: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise AllocatorError(f"quota {what} of role {role!r} must map resource names to amounts, got {values!r}")
    out: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise AllocatorError(f"quota {what} of role {role!r}: bad resource name {name!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise AllocatorError(f"quota {what} of role {role!r}: {name} must be a number >= 0, got {value!r}")
        if value > 0 or what == "limits":
            out[name] = round(float(value), 3)
    return out


def check_quota(role: str, guarantees: Mapping[str, float] | None, limits: Mapping[str, float] | None) -> Quota:
    """A validated ``Quota``; AllocatorError naming the bad role, name or amount.
    A guarantee above the limit of the same name is refused (as Mesos)."""
    error = role_error(role) if isinstance(role, str) else f"must be a string, got {role!r}"
    if error is not None or role == "*":
        raise AllocatorError(f"bad quota role {role!r}: {error or 'quota cannot be set on the default role'}")
    g = _amounts(role, "guarantees", guarantees or {})
    lim = _amounts(role, "limits", limits or {})
    for name, amount in g.items():
        if name in lim and amount > lim[name] + _EPS:
            raise AllocatorError(f"quota of role {role!r}: guarantee {name}:{amount:g} is above its limit "
                                 f"{name}:{lim[name]:g}")
    return Quota(g, lim)


def cut_unreserved(res: Resources, caps: Mapping[str, float]) -> Resources:
    """``res`` with each unreserved scalar named in ``caps`` cut down to its cap (>= 0)."""
    have = res.unreserved().quantities() if res.has_reservations() else res.quantities()
    cut = {(name, "*"): have[name] - max(cap, 0.0) for name, cap in caps.items()
           if have.get(name, 0.0) > cap + _EPS}
    # the keys and amounts come from ``res`` itself: no need to validate them again
    return res - Resources._make(cut, {}) if cut else res


def _add(into: dict[str, float], q: Mapping[str, float], sign: float = 1.0) -> None:
    for name, value in q.items():
        into[name] = into.get(name, 0.0) + sign * value


class QuotaCycle:
    """One cycle's quota state; see the module docstring.

    ``quotas``: role -> Quota; ``allocated``: role -> its subtree's allocated
    quantities (the DRF sorter's); ``agents_available``: every agent's
    unallocated resources (for the headroom and the unallocated reservations).
    """

    def __init__(self, quotas: Mapping[str, Quota], allocated: Mapping[str, Mapping[str, float]],
                 agents_available: Iterable[Resources]) -> None:
        self.quotas = quotas
        self.consumed: dict[str, dict[str, float]] = {r: dict(allocated.get(r, {})) for r in quotas}
        self.free: dict[str, float] = {}  # unallocated unreserved, cluster-wide
        for avail in agents_available:
            if not avail.has_reservations():
                _add(self.free, avail.quantities())
                continue
            _add(self.free, avail.unreserved().quantities())
            for rrole in avail.roles() - {"*"}:
                for q in quotas:
                    if is_subrole(rrole, q):
                        _add(self.consumed[q], avail.reserved(rrole).quantities())
        self.top = [r for r, q in quotas.items() if q.guarantees
                    and not any(a in quotas and quotas[a].guarantees for a in ancestors(r))]
        self._governs: dict[str, list[str]] = {}
        self._headroom: dict[str, float] | None = None  # cached until an allocation changes it
        self._unmet = {r for r in quotas if self._is_unmet(r)}  # roles whose guarantee is not met

    def _left(self, role: str, kind: str) -> dict[str, float]:
        quota = self.quotas[role]
        amounts = quota.guarantees if kind == "guarantees" else quota.limits
        used = self.consumed[role]
        return {n: v - used.get(n, 0.0) for n, v in amounts.items()}

    def _governing(self, role: str) -> list[str]:
        out = self._governs.get(role)
        if out is None:
            out = self._governs[role] = [q for q in (role, *ancestors(role)) if q in self.quotas]
        return out

    def _is_unmet(self, role: str) -> bool:
        return any(v > _EPS for v in self._left(role, "guarantees").values())

    def unsatisfied(self, role: str) -> bool:
        """Whether the role or an ancestor has a guarantee not yet met (stage 1 candidate)."""
        unmet = self._unmet
        return bool(unmet) and any(q in unmet for q in self._governing(role))

    def any_unsatisfied(self) -> bool:
        return bool(self._unmet)

    def required_headroom(self) -> dict[str, float]:
        out = self._headroom
        if out is None:
            out = self._headroom = {}
            for role in self.top:
                for name, left in self._left(role, "guarantees").items():
                    if left > _EPS:
                        out[name] = out.get(name, 0.0) + left
        return out

    def cap(self, role: str, offer: Resources, stage1: bool) -> Resources:
        """What of ``offer`` (the agent's resources role may use) the role may get now."""
        caps: dict[str, float] = {}
        governing = self._governing(role)
        for q in governing:
            used = self.consumed[q]
            for name, limit in self.quotas[q].limits.items():
                left = limit - used.get(name, 0.0)
                if left < caps.get(name, math.inf):
                    caps[name] = left
        guaranteed: dict[str, float] = {}
        if stage1:
            for q in governing:
                used = self.consumed[q]
                for name, amount in self.quotas[q].guarantees.items():
                    left = max(amount - used.get(name, 0.0), 0.0)
                    if left < guaranteed.get(name, math.inf):
                        guaranteed[name] = left
            for name, left in guaranteed.items():
                if left < caps.get(name, math.inf):
                    caps[name] = left
        free = self.free
        for name, need in self.required_headroom().items():
            if name not in guaranteed:  # stage 1 takes a guaranteed name out of its own headroom
                left = free.get(name, 0.0) - need
                if left < caps.get(name, math.inf):
                    caps[name] = left
        return cut_unreserved(offer, caps) if caps else offer

    def allocated(self, role: str, res: Resources) -> None:
        """Record that ``res`` (allocatable to ``role``) was allocated in ``role``."""
        unreserved = res.unreserved().quantities() if res.has_reservations() else res.quantities()
        _add(self.free, unreserved, -1.0)
        governing = self._governing(role)
        if any(q in self._unmet for q in governing):
            self._headroom = None  # only an unmet guarantee's part of the headroom can change
        for q in governing:
            # reserved resources already counted (as unallocated reservations) for their own role's subtree
            _add(self.consumed[q], unreserved)
            if res.has_reservations():
                for rrole in res.roles() - {"*"}:
                    if not is_subrole(rrole, q):
                        _add(self.consumed[q], res.reserved(rrole).quantities())
            if q in self._unmet and not self._is_unmet(q):
                self._unmet.discard(q)

