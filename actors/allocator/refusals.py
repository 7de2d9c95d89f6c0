"""Decline filters, kept compact (internal to the allocator's book).

A filter is ``(refused resources, expiry)``: the framework is not offered, in that role
on that agent, resources the refused ones contain until ``expiry`` (see
``actors.allocator.core``). The book keeps them as ``framework -> role -> agent -> entry``
where the entry is that one filter's tuple, or a list of them only when there are several
(a decline installs one filter per (framework, role, agent) and an installed filter keeps
the agent from being offered to it again, so nearly every entry holds one: a list apiece
was 88 bytes more than its one tuple). The refused resources are interned by the book, so
filters refusing equal remainders (homogeneous agents) share one ``Resources``.
Expired filters are dropped whenever the agent's filters are read (``live``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Union

from actors.resources import Resources

__all__ = ["AgentFilters", "RefuseFilter", "add_filter", "iter_filters", "live"]

RefuseFilter = tuple[Resources, float]  # (refused resources, expiry)
AgentFilters = dict[str, Union[RefuseFilter, list[RefuseFilter]]]  # agent id -> its filter or its filters


def add_filter(per_agent: AgentFilters, agent_id: str, refused: Resources, expiry: float) -> None:
    """Install ``(refused, expiry)`` beside the filters already on the agent."""
    entry = per_agent.get(agent_id)
    new = (refused, expiry)
    if entry is None:
        per_agent[agent_id] = new
    elif isinstance(entry, tuple):
        per_agent[agent_id] = [entry, new]
    else:
        entry.append(new)


def live(per_agent: AgentFilters, agent_id: str, now: float) -> Sequence[RefuseFilter]:
    """The agent's filters that have not expired at ``now``; the expired ones are removed
    (and the agent's entry with them when none is left)."""
    entry = per_agent.get(agent_id)
    if entry is None:
        return ()
    if isinstance(entry, tuple):
        if entry[1] > now:
            return (entry,)
        del per_agent[agent_id]
        return ()
    kept = [f for f in entry if f[1] > now]
    if len(kept) == len(entry):
        return kept
    if not kept:
        del per_agent[agent_id]
    else:
        per_agent[agent_id] = kept[0] if len(kept) == 1 else kept
    return kept


def iter_filters(per_agent: AgentFilters) -> Iterator[tuple[str, RefuseFilter]]:
    """``(agent id, filter)`` of every filter kept (expired ones too)."""
    for agent_id, entry in per_agent.items():
        for f in (entry,) if isinstance(entry, tuple) else entry:
            yield agent_id, f
