"""Offer operations beside LAUNCH, and the operator's reservations, in the master core.

Pure. ``RESERVE`` and ``UNRESERVE`` in ``acceptOffers`` convert part of what the
accept offered (in order: a LAUNCH after a RESERVE may use the reservation),
change the agent's total, tell the allocator (``update_allocation``) and the
agent (``CheckpointResources``, so the reservation outlives a master restart).
As Mesos validates them: a framework reserves for the role its offers are
allocated to; when it has a principal, each reservation names that principal;
a refinement reserves for a descendant of the role below it. An invalid
operation is dropped (logged), and the accept goes on with the next.

The operator's ``/reserve`` and ``/unreserve`` (``operator_plan`` then
``operator_commit``) and ``/create-volumes`` and ``/destroy-volumes``
(``operator_volumes``) act on unallocated resources: offers on the agent are
rescinded first when what is free there is not enough.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

from actors.master.model import Agent, Effect, Framework, Send, ToAllocator
from actors.master.volumes import (
    VolumeError,
    checkpoint_dicts,
    create_volumes,
    destroy_volumes,
    mark_used,
    volume_disk,
)
from actors.reservations import (
    Conversion,
    DynamicReservations,
    ReservationError,
    apply_conversions,
    reserve_conversions,
    unreserve_conversions,
)
from actors.resources import Resources
from actors.volumes import volume_ids, volumes_of
from transport import messages as m

if TYPE_CHECKING:
    from actors.master.ledger import MasterLedger

__all__ = ["OFFER_OPERATIONS", "ReservationError", "apply_offer_operation", "checkpoint", "operator_commit",
           "operator_plan", "operator_volumes", "rejoined"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
OFFER_OPERATIONS = ("RESERVE", "UNRESERVE")


def checkpoint(agent: Agent, out: list[Effect]) -> None:
    out.append(Send(agent.pid, m.CheckpointResources(resources=checkpoint_dicts(agent))))


def rejoined(agent: Agent, out: list[Effect]) -> None:
    """An agent (re)registers. A record new to this master learns the agent's dynamic
    reservations and persistent volumes from what it reports; a known one keeps the master's.
    Either way the agent is sent them (it may have missed an update), and the volumes its
    live tasks name are in use."""
    if not agent.reservations.by_role:
        items = agent.info.get("resources")
        items = items if isinstance(items, list) else []
        agent.reservations, agent.volumes = DynamicReservations.from_dicts(items), volumes_of(items)
    if agent.reservations.by_role:
        checkpoint(agent, out)
    mark_used(agent)


def _items(op: Dict, kind: str) -> Any:
    body = op.get(kind.lower())
    return body.get("resources") if isinstance(body, dict) else None


def _check_framework(fw: Framework, role: str, conversions: list[Conversion], reserve: bool) -> None:
    principal = fw.info.get("principal") or ""
    for c in conversions:
        if reserve and c.role != role:
            raise ReservationError(f"cannot reserve {c.converted} for role {c.role!r}: the offers are allocated "
                                   f"to role {role!r}")
        if reserve and principal and c.principal != principal:
            raise ReservationError(f"a reserve operation by principal {principal!r} names principal "
                                   f"{c.principal or None!r} in the reservation of {c.converted}")


def apply_offer_operation(core: MasterLedger, fw: Framework, agent: Agent, role: str, op: Dict,
                          remaining: Resources, volumes: Resources, now: float, out: list[Effect]) -> Resources:
    """RESERVE / UNRESERVE ``op`` on ``remaining`` (what the accept still has, ``volumes``
    of it persistent volumes, which stay); the new remaining. ReservationError (nothing
    changed) if invalid."""
    kind = op.get("type")
    reserve = kind == "RESERVE"
    items = _items(op, str(kind))
    if isinstance(items, list) and volume_ids(items):
        raise ReservationError(f"cannot {str(kind).lower()} persistent volumes {volume_ids(items)}: destroy them first")
    conversions = (reserve_conversions if reserve else unreserve_conversions)(items)
    _check_framework(fw, role, conversions, reserve)
    apply_conversions(remaining - volumes, conversions, "in the offers outside their volumes")
    remaining = apply_conversions(remaining, conversions, "in the offers")
    agent.total = apply_conversions(agent.total, conversions, f"on agent {agent.agent_id}")
    agent.reservations.apply(conversions, reserve)
    for c in conversions:
        out.append(ToAllocator("update_allocation", {"framework_id": fw.framework_id, "agent_id": agent.agent_id,
                                                      "role": role, "consumed": c.consumed,
                                                      "converted": c.converted}))
        log.info("resources_reserved" if reserve else "resources_unreserved", framework_id=fw.framework_id,
                 agent_id=agent.agent_id, role=c.role, resources=str(c.converted if reserve else c.consumed),
                 principal=c.principal or None)
    checkpoint(agent, out)
    return remaining


def operator_plan(core: MasterLedger, agent_id: str, items: Any, reserve: bool, now: float,
                  out: list[Effect]) -> list[Conversion]:
    """Validate an operator's reserve / unreserve on ``agent_id`` and rescind the agent's offers
    if what is free there does not hold it; ReservationError naming the problem."""
    agent = core.agents.get(agent_id)
    if agent is None:
        raise ReservationError(f"no agent {agent_id!r} is registered")
    conversions = (reserve_conversions if reserve else unreserve_conversions)(items)
    apply_conversions(agent.total, conversions, f"on agent {agent_id}")  # exists at all
    offered = Resources()
    for oid in agent.offers:
        offer = core.offers.get(oid)
        if offer is not None:
            offered = offered + offer.resources
    held = sum((v.resources for v in agent.volumes.values()), Resources())
    if isinstance(items, list) and volume_ids(items):
        raise ReservationError(f"cannot reserve or unreserve persistent volumes {volume_ids(items)}")
    free = agent.total - agent.used() - offered - held
    try:
        apply_conversions(free, conversions, "")
    except ReservationError:
        for oid in list(agent.offers):
            offer = core.offers.get(oid)
            if offer is not None:
                core.remove_offer(offer, out, rescind=True, recover=True, now=now)
        apply_conversions(agent.total - agent.used() - held, conversions, f"unallocated on agent {agent_id}")
    return conversions


def operator_volumes(core: MasterLedger, agent_id: str, items: Any, create: bool, now: float,
                     out: list[Effect]) -> list[str]:
    """The operator's CREATE_VOLUMES / DESTROY_VOLUMES on the agent: of its disk no task or
    offer holds (its offers are rescinded first when that is not enough, or when a volume to
    destroy is offered). The persistence ids; VolumeError naming the problem."""
    agent = core.agents.get(agent_id)
    if agent is None:
        raise VolumeError(f"no agent {agent_id!r} is registered")

    def rescind(keep: Any) -> None:
        for oid in list(agent.offers):
            offer = core.offers.get(oid)
            if offer is not None and not keep(offer):
                core.remove_offer(offer, out, rescind=True, recover=True, now=now)

    if not create:
        ids = set(volume_ids(items if isinstance(items, list) else []))
        rescind(lambda o: not any(agent.volumes[i].offer == o.offer_id for i in ids if i in agent.volumes))
        done = destroy_volumes(agent, items, None)
    else:
        def free() -> Resources:
            offered = sum((core.offers[o].resources for o in agent.offers if o in core.offers), Resources())
            return agent.total - agent.used() - offered - volume_disk(agent, set(agent.volumes))

        try:
            made = create_volumes(agent, items, free(), role=None, principal="", who="the agent has free")
        except VolumeError:
            rescind(lambda o: False)
            made = create_volumes(agent, items, free(), role=None, principal="", who="the agent has free")
        done = [v.persistence_id for v in made]
    checkpoint(agent, out)
    return done


def operator_commit(core: MasterLedger, agent_id: str, conversions: list[Conversion], reserve: bool,
                    out: list[Effect]) -> None:
    """Record what the allocator has already applied (``update_available``) on the agent."""
    agent = core.agents.get(agent_id)
    if agent is None:
        return
    agent.total = apply_conversions(agent.total, conversions, f"on agent {agent_id}")
    agent.reservations.apply(conversions, reserve)
    for c in conversions:
        log.info("resources_reserved" if reserve else "resources_unreserved", agent_id=agent_id, role=c.role,
                 resources=str(c.converted if reserve else c.consumed), principal=c.principal or None,
                 operator=True)
    checkpoint(agent, out)
