"""Persistent volumes in the master core: CREATE / DESTROY, offering them, tasks using them.

Pure. An agent's volumes are ``agent.volumes`` (persistence id -> ``Volume``,
see ``actors.volumes``). ``CREATE`` in an accept turns offered reserved disk
of the offers' role (or an ancestor's) into a volume, which stays in the
accept for a LAUNCH after it; ``DESTROY`` turns a volume of the accept that no
live task uses back into plain reserved disk. Both tell the agent
(``CheckpointResources``). A free volume goes in one offer at a time, as its
own resource dict; a task may use a volume only by naming it, and plain disk
it asks for must come from the offers' other disk. When the task ends the
volume is free again, offered back to its role with its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from actors.master.model import Agent, Framework
from actors.reservations import with_stacks
from actors.resources import EMPTY, Resources
from actors.roles import is_subrole
from actors.volumes import Volume, VolumeError, parse_volume, volume_ids

__all__ = ["VOLUME_OPERATIONS", "VolumeError", "apply_volume_operation", "checkpoint_dicts", "claim_volumes",
           "create_volumes", "destroy_volumes", "mark_used", "offer_dicts", "release", "volume_disk"]

log = structlog.get_logger(__name__)
Dict = dict[str, Any]
VOLUME_OPERATIONS = ("CREATE", "DESTROY")


def volume_disk(agent: Agent, ids: set[str]) -> Resources:
    """The disk of the agent's volumes ``ids``."""
    return sum((agent.volumes[i].resources for i in ids if i in agent.volumes), EMPTY)


def _items(items: Any, kind: str) -> list[Volume]:
    if not isinstance(items, list) or not items:
        raise VolumeError(f"{kind} needs a non-empty list of volumes, got {items!r}")
    return [parse_volume(d) for d in items]


def create_volumes(agent: Agent, items: Any, plain: Resources, *, role: str | None, principal: str,
                   who: str) -> list[Volume]:
    """Make the volumes ``items`` of ``plain`` (disk that is no volume and free to the caller:
    the accept's offers, or the agent's unallocated disk); for a framework, of ``role``'s
    reservations (None: any role) and with its ``principal``. VolumeError (nothing made) if not."""
    volumes = _items(items, "CREATE")
    for v in volumes:
        if v.persistence_id in agent.volumes or sum(1 for x in volumes if x.persistence_id == v.persistence_id) > 1:
            raise VolumeError(f"volume {v.persistence_id!r} already exists on agent {agent.agent_id}")
        if role is not None and not is_subrole(role, v.role):
            raise VolumeError(f"volume {v.persistence_id!r} of role {v.role!r} is not for role {role!r}")
        if principal and v.principal != principal:
            raise VolumeError(f"a create operation by principal {principal!r} names principal "
                              f"{v.principal or None!r} for volume {v.persistence_id!r}")
        dynamic, _ = agent.reservations.by_role.get(v.role, (EMPTY, []))
        if not (dynamic - volume_disk(agent, {i for i, x in agent.volumes.items() if x.role == v.role})
                ).contains(v.resources):
            raise VolumeError(f"volume {v.persistence_id!r} needs dynamically reserved disk {v.resources}")
        if not plain.contains(v.resources):
            raise VolumeError(f"volume {v.persistence_id!r} needs {v.resources}, {who} {plain}")
        plain = plain - v.resources
    for v in volumes:
        v.info = with_stacks([{k: x for k, x in v.info.items() if k != "allocation_info"}],
                             agent.reservations.stacks())[0]
        agent.volumes[v.persistence_id] = v
        log.info("volume_created", agent_id=agent.agent_id, persistence_id=v.persistence_id, role=v.role,
                 resources=str(v.resources))
    return volumes


def destroy_volumes(agent: Agent, items: Any, reachable: set[str] | None) -> list[str]:
    """Destroy the volumes ``items`` (those in ``reachable`` only, unless None) no task uses;
    their persistence ids. VolumeError (nothing destroyed) if one cannot be."""
    volumes = _items(items, "DESTROY")
    for v in volumes:
        known = agent.volumes.get(v.persistence_id)
        if known is None or (reachable is not None and v.persistence_id not in reachable):
            raise VolumeError(f"volume {v.persistence_id!r} is not " + ("in the offers" if reachable is not None
                                                                       else f"on agent {agent.agent_id}"))
        if known.task is not None:
            raise VolumeError(f"volume {v.persistence_id!r} is in use by task {known.task[1]}")
    for v in volumes:
        del agent.volumes[v.persistence_id]
        log.info("volume_destroyed", agent_id=agent.agent_id, persistence_id=v.persistence_id)
    return [v.persistence_id for v in volumes]


def apply_volume_operation(fw: Framework, agent: Agent, role: str, op: Dict,
                           remaining: Resources, in_accept: set[str]) -> None:
    """CREATE / DESTROY ``op`` within an accept whose offers (``remaining``) hold the volumes
    ``in_accept`` (updated). VolumeError (nothing changed) if invalid."""
    kind = op.get("type")
    body = op.get(str(kind).lower())
    items = body.get("volumes") if isinstance(body, dict) else None
    if kind == "CREATE":
        made = create_volumes(agent, items, remaining - volume_disk(agent, in_accept), role=role,
                              principal=fw.info.get("principal") or "", who="the offers have")
        in_accept.update(v.persistence_id for v in made)
    else:
        in_accept.difference_update(destroy_volumes(agent, items, in_accept))


def claim_volumes(agent: Agent, task: Dict, need: Resources, remaining: Resources,
                  in_accept: set[str], key: tuple[str, str]) -> None:
    """Check that a task may have its volumes and plain disk; mark its volumes used by ``key``.
    VolumeError naming the problem (nothing marked)."""
    items = [d for holder in (task, task.get("executor") or {}) if isinstance(holder, dict)
             for d in holder.get("resources") or []]
    ids = volume_ids(items)
    if not ids and not agent.volumes:
        return
    for pid in ids:
        if pid not in in_accept or agent.volumes[pid].task is not None:
            raise VolumeError(f"Task {key[1]} uses volume {pid!r}, which is not in the offers")
    mine = volume_disk(agent, set(ids))
    if not (remaining - volume_disk(agent, in_accept - set(ids))).contains(need - mine) or not need.contains(mine):
        raise VolumeError(f"Task {key[1]} uses more disk {need} than the offers have outside their volumes")
    for pid in ids:
        agent.volumes[pid].task = key
        in_accept.discard(pid)


def mark_used(agent: Agent) -> None:
    """After (re)registration: the volumes the agent's live tasks name are in use by them."""
    for (fid, tid), task in agent.tasks.items():
        items = [d for holder in (task.info, task.info.get("executor") or {}) if isinstance(holder, Mapping)
                 for d in holder.get("resources") or []]
        for pid in volume_ids(items):
            if pid in agent.volumes:
                agent.volumes[pid].task = (fid, tid)


def release(agent: Agent, *, offer: str | None = None, task: tuple[str, str] | None = None) -> None:
    """Free the agent's volumes held by ``offer`` or used by ``task``."""
    for v in agent.volumes.values():
        if offer is not None and v.offer == offer:
            v.offer = None
        if task is not None and v.task == task:
            v.task = None


def offer_dicts(agent: Agent, offer_id: str, res: Resources, stacks: dict[str, list[Dict]]) -> list[Dict]:
    """The offer's resource dicts: free volumes that fit (now held by ``offer_id``) as their own dicts."""
    chosen: list[Volume] = []
    rest = res
    for v in agent.volumes.values():
        if v.task is None and v.offer is None and rest.contains(v.resources):
            v.offer = offer_id
            chosen.append(v)
            rest = rest - v.resources
    return with_stacks(rest.to_dicts(), stacks) + [dict(v.info) for v in chosen]


def checkpoint_dicts(agent: Agent) -> list[Dict]:
    """What the agent keeps: its dynamic reservations, the volumes' disk as the volumes' dicts."""
    out = []
    for role, (res, stack) in sorted(agent.reservations.by_role.items()):
        vols = [v for v in agent.volumes.values() if v.role == role]
        plain = res - sum((v.resources for v in vols), EMPTY)
        out.extend(with_stacks(plain.to_dicts(), {role: stack}))
        out.extend(dict(v.info) for v in vols)
    return out
