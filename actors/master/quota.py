"""Quota in the master core: the table, its JSON shapes, and updates as Mesos checks them.

Pure. The master keeps role -> ``Quota`` (``actors.allocator.quota``) and hands
every change to the allocator (``set_quota``); the JSON shapes it accepts are
in ``actors.master.quota_json``.

An update is all or nothing. Unless forced it is refused when a new limit is
below the role's consumption (its live tasks' and executors' resources and
the reservations to its subtree), or when the guarantees of the top-most
roles add up to more than the cluster has. Offers of a role whose new limit
its consumption plus those offers exceeds are rescinded (the allocator makes
new ones within the limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actors.allocator.quota import Quota
from actors.master.model import TERMINAL_STATES, Effect, ToAllocator
from actors.master.quota_json import QuotaError
from actors.resources import EMPTY, Resources
from actors.roles import ancestors, is_subrole

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["consumed", "consumed_with_offers", "quota_status", "update_quota"]

Dict = dict[str, Any]
_EPS = 1e-9


def consumed(core: MasterLedger, role: str) -> dict[str, float]:
    """What the role's subtree consumes beside offers: live tasks' and executors' resources
    allocated in it, and every reservation on an agent to a role in it."""
    total = EMPTY
    for agent in core.agents.values():
        for task in agent.tasks.values():
            if task.state not in TERMINAL_STATES and is_subrole(task.role, role) and task.role:
                total = total + task.resources.unreserved()
        for key, res in agent.executors.items():
            record = agent.executor_infos.get(key)
            if record is not None and record.role and is_subrole(record.role, role):
                total = total + res.unreserved()
        for rrole in agent.total.roles() - {"*"}:
            if is_subrole(rrole, role):
                total = total + agent.total.reserved(rrole)
    return dict(total.quantities())


def consumed_with_offers(core: MasterLedger, role: str) -> dict[str, float]:
    """``consumed`` plus the unreserved resources the role's subtree is offered (Mesos'
    consumed quota: everything allocated, and the unallocated reservations)."""
    out = consumed(core, role)
    for name, v in _offered(core, role).items():
        out[name] = round(out.get(name, 0.0) + v, 3)
    return out


def _offered(core: MasterLedger, role: str) -> dict[str, float]:
    total = sum((o.resources.unreserved() for o in core.offers.values() if is_subrole(o.role, role)), EMPTY)
    return dict(total.quantities())


def _over(amounts: Mapping[str, float], limits: Mapping[str, float]) -> str | None:
    for name, limit in sorted(limits.items()):
        if amounts.get(name, 0.0) > limit + _EPS:
            return f"{name}:{amounts.get(name, 0.0):g} > {name}:{limit:g}"
    return None


def update_quota(core: MasterLedger, configs: list[tuple[str, Quota]], force: bool, now: float,
                 out: list[Effect]) -> None:
    """Apply the update (all or nothing); QuotaError if refused. See the module docstring."""
    for role, quota in configs:
        if core.allowed_roles and role not in core.allowed_roles:
            raise QuotaError(f"quota role {role!r} is not in --roles {sorted(core.allowed_roles)}")
        if not force:
            over = _over(consumed(core, role), quota.limits)
            if over is not None:
                raise QuotaError(f"quota limit of role {role!r} is below its consumption ({over}); "
                                 f"use force to set it anyway")
    table = dict(core.quotas)
    for role, quota in configs:
        if quota.guarantees or quota.limits:
            table[role] = quota
        else:
            table.pop(role, None)
    if not force:
        top: dict[str, float] = {}
        for role, quota in table.items():
            if not any(a in table and table[a].guarantees for a in ancestors(role)):
                for name, v in quota.guarantees.items():
                    top[name] = top.get(name, 0.0) + v
        capacity = sum((a.total for a in core.agents.values()), EMPTY).quantities()
        over = _over(top, capacity)
        if over is not None:
            raise QuotaError(f"quota guarantees exceed the cluster's capacity ({over}); use force to set them anyway")
    core.quotas = table
    for role, quota in configs:
        out.append(ToAllocator("set_quota", {"role": role, "guarantees": dict(quota.guarantees),
                                             "limits": dict(quota.limits)}))
        if _over({n: consumed(core, role).get(n, 0.0) + v for n, v in _offered(core, role).items()},
                 quota.limits) is not None:
            for offer in [o for o in core.offers.values() if is_subrole(o.role, role)]:
                core.remove_offer(offer, out, rescind=True, recover=True, now=now)


def quota_status(core: MasterLedger) -> Dict:
    """Mesos' ``QuotaStatus``: ``infos`` (role, guarantee as resources; deprecated) and ``configs``."""
    infos = [{"role": role, "guarantee": Resources(scalars={(n, "*"): v for n, v in q.guarantees.items()}
                                                   ).to_dicts()} for role, q in sorted(core.quotas.items())]
    return {"infos": infos, "configs": [q.to_dict(role) for role, q in sorted(core.quotas.items())]}
