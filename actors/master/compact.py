"""Compact records: one shared object for values that many records hold alike.

A homogeneous cluster has thousands of agents with the same total and tasks with
the same resources; the master keeps one ``Resources`` (immutable, hashable) for
each distinct value instead of a copy per record (:class:`Interner`, from
:mod:`actors.interning`, which the allocator uses too). What a task keeps of its
TaskInfo and an agent of its registered resources are chosen here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from actors.interning import DEFAULT_INTERN_LIMIT, Interner
from actors.reservations import stack_of
from actors.volumes import volume_ids

__all__ = ["DEFAULT_INTERN_LIMIT", "NO_TASK_INFO", "Interner", "compact_agent_resources", "compact_task_info"]

# What the master reads of a TaskInfo it keeps (``Task.info``): the persistent volumes in its
# resources and its executor's, the executor, ``kill_policy``, ``labels``, ``discovery``, ``container``,
# ``health_check``, ``user`` and ``command.user``. Its ids, name and resources are the Task's own fields,
# its command line and ``data`` are carried to the agent and not kept (Mesos' Task holds no command either);
# an agent's report of a task brings its ``statuses``, kept in ``Task.statuses``.
_NOT_KEPT = frozenset({"data", "resources", "command", "task_id", "name", "agent_id", "statuses"})

# What a task keeps when nothing of its TaskInfo is left (most command tasks): one read-only empty
# mapping that every such task shares (an empty dict apiece was 64 bytes a task).
NO_TASK_INFO: Mapping[str, Any] = MappingProxyType({})


def compact_task_info(info: Mapping[str, Any]) -> Mapping[str, Any]:
    """The part of a TaskInfo dict the master keeps for a task (see above); :data:`NO_TASK_INFO`
    when that is nothing. Read-only: the master never writes a kept TaskInfo."""
    out = {k: v for k, v in info.items() if k not in _NOT_KEPT}
    items = info.get("resources")
    volumes = [d for d in items if isinstance(d, dict) and "disk" in d] if isinstance(items, list) else []
    if volumes:
        out["resources"] = volumes
    command = info.get("command")
    user = command.get("user") if isinstance(command, dict) else None
    if isinstance(user, str) and user:
        out["command"] = {"user": user}
    return out or NO_TASK_INFO


def compact_agent_resources(items: Any) -> list[Any]:
    """Of an agent's resource dicts as it (re)registered, what the master reads again: the dynamically
    reserved ones and the persistent volumes (``operations.rejoined``). Its total is ``Agent.total``."""
    if not isinstance(items, list):
        return []
    return [d for d in items if isinstance(d, Mapping) and (stack_of(d) or volume_ids([d]))]
