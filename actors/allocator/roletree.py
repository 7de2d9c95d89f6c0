"""The role tree one allocation cycle walks (pure, internal to the allocator cores).

Mesos' hierarchical sorter keeps roles as a tree: ``eng/backend`` and
``eng/frontend`` are children of ``eng``, which is a sibling of ``ops``
under the root. Resources go to the tree's leaves in a pre-order walk whose
children are visited lowest entry first (DRF: the subtree's dominant share
over its weight). A role that has frameworks of its own *and* subroles gets a
virtual leaf among its children (Mesos' ``eng/.``) that competes with them
with the share of exactly that role and weight 1.

``build(roles, entry)`` makes the tree of the roles that have candidates
this cycle (and their ancestors): node path (``""`` is the root) -> heap of
its children's entries. An entry is ``(entry(path, virtual), path, kind)``:
``kind`` NODE means "descend into ``tree[path]``", LEAF and OWN (a virtual
leaf) mean "offer to the clients of role ``path``".
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from actors.roles import is_subrole, parent

__all__ = ["LEAF", "NODE", "OWN", "Entry", "Tree", "affected", "build", "order", "rekey"]

LEAF, NODE, OWN = 0, 1, 2
Entry = tuple[Any, ...]
Tree = dict[str, list[Entry]]
EntryKey = Callable[[str, bool], tuple[Any, ...]]


def build(roles: Iterable[str], entry: EntryKey) -> Tree:
    """The heaps of the tree holding ``roles``; see the module docstring."""
    own = set(roles)
    kids: dict[str, set[str]] = {"": set()}
    for role in own:
        child = role
        while True:
            up = parent(child)
            siblings = kids.get(up)
            if siblings is not None:
                siblings.add(child)
                break
            kids[up] = {child}  # a new inner node: link it to its own parent in turn
            child = up
    tree: Tree = {}
    for path, children in kids.items():
        heap = [(entry(c, False), c, NODE if c in kids else LEAF) for c in children]
        if path in own:
            heap.append((entry(path, True), path, OWN))
        heapq.heapify(heap)
        tree[path] = heap
    return tree


def rekey(e: Entry, entry: EntryKey) -> Entry:
    """``e`` with its key computed afresh (after allocations changed shares)."""
    _, path, kind = e
    return (entry(path, kind == OWN), path, kind)


def affected(e: Entry, roles: list[str]) -> bool:
    """Whether allocations in ``roles`` change ``e``'s key: a leaf's (or virtual leaf's) own
    role is one of them, or a node's subtree holds one (keys depend on nothing else)."""
    _, path, kind = e
    if kind == NODE:
        return any(is_subrole(r, path) for r in roles)
    return path in roles


def order(tree: Tree) -> list[str]:
    """Every role of the tree in walk order (the heaps are left as they are)."""
    out: list[str] = []

    def visit(path: str) -> None:
        for e in sorted(tree[path]):
            if e[2] == NODE:
                visit(e[1])
            else:
                out.append(e[1])

    visit("")
    return out
