"""Dominant Resource Fairness bookkeeping for the hierarchical allocator.

Pure. Holds the cluster's scalar totals, and the scalar allocations of every
role, of the descendants of every inner node of the role tree, and of every
client, a client being one (framework, role) pair. The subtree of ``eng`` is
``eng`` itself and all its descendants (``eng/backend``, ``eng/backend/db``...),
as the nodes of Mesos' hierarchical DRF sorter hold their whole subtree's
allocation. A
dominant share is the largest ``allocated / total`` over the scalar resource
names the cluster has (cpus, mem, disk and any other scalar; ranges such as
ports do not count, as in Mesos' sorter). All amounts are kept rounded to 3
decimals, as the resources themselves are.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.roles import ancestors

__all__ = ["DRFSorter", "dominant_share"]

Client = tuple[str, str]


def dominant_share(alloc: Mapping[str, float], total: Mapping[str, float]) -> float:
    """max over names of ``alloc[name] / total[name]`` (names with no total skipped)."""
    best = 0.0
    for name, value in alloc.items():
        t = total.get(name, 0.0)
        if t > 0.0:
            s = value / t
            if s > best:  # noqa: PLR1730 (faster than max())
                best = s
    return best


def _acc(into: dict[str, float], q: Mapping[str, float], sign: float) -> None:
    for name, value in q.items():
        nv = round(into.get(name, 0.0) + sign * value, 3)
        if nv > 0.0:
            into[name] = nv
        else:
            into.pop(name, None)


class DRFSorter:
    """Totals and allocations by role and by client, and their dominant shares.

    ``total``: scalar name -> cluster total; ``roles``: role -> scalar name ->
    allocated in exactly that role; ``below``: role path -> scalar name ->
    allocated in its descendants (only paths with allocated descendants have
    an entry, so top-level roles without subroles cost nothing more);
    ``clients``: (framework_id, role) -> scalar
    name -> allocated. Empty allocations are dropped. Quantities are
    ``Resources.quantities()``. ``offers``: client -> how many times it was
    offered (Mesos' allocation count, the tie-break of equal shares), kept
    until the framework is forgotten.
    """

    __slots__ = ("below", "clients", "offers", "roles", "total")

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.roles: dict[str, dict[str, float]] = {}
        self.below: dict[str, dict[str, float]] = {}
        self.clients: dict[Client, dict[str, float]] = {}
        self.offers: dict[Client, int] = {}

    def offered(self, framework_id: str, role: str) -> None:
        """The client got one more offer."""
        client = (framework_id, role)
        self.offers[client] = self.offers.get(client, 0) + 1

    def forget(self, framework_id: str) -> None:
        """The framework is gone: drop its offer counts."""
        for client in [c for c in self.offers if c[0] == framework_id]:
            del self.offers[client]

    def add_total(self, q: Mapping[str, float]) -> None:
        _acc(self.total, q, 1.0)

    def remove_total(self, q: Mapping[str, float]) -> None:
        _acc(self.total, q, -1.0)

    def allocate(self, framework_id: str, role: str, q: Mapping[str, float]) -> None:
        """Count ``q`` as allocated to the client and its role."""
        client = (framework_id, role)
        c = self.clients.get(client)
        if c is None:
            c = self.clients[client] = {}
        _acc(c, q, 1.0)
        r = self.roles.get(role)
        if r is None:
            r = self.roles[role] = {}
        _acc(r, q, 1.0)
        if "/" in role:
            for path in ancestors(role):
                b = self.below.get(path)
                if b is None:
                    b = self.below[path] = {}
                _acc(b, q, 1.0)

    def unallocate(self, framework_id: str, role: str, q: Mapping[str, float]) -> None:
        """Stop counting ``q`` (amounts floor at 0; empty entries are dropped)."""
        client = (framework_id, role)
        c = self.clients.get(client)
        if c is not None:
            _acc(c, q, -1.0)
            if not c:
                del self.clients[client]
        r = self.roles.get(role)
        if r is not None:
            _acc(r, q, -1.0)
            if not r:
                del self.roles[role]
        if "/" in role:
            for path in ancestors(role):
                b = self.below.get(path)
                if b is not None:
                    _acc(b, q, -1.0)
                    if not b:
                        del self.below[path]

    def client_share(self, framework_id: str, role: str) -> float:
        c = self.clients.get((framework_id, role))
        return dominant_share(c, self.total) if c else 0.0

    def role_share(self, role: str) -> float:
        """Dominant share of what is allocated in exactly ``role``."""
        r = self.roles.get(role)
        return dominant_share(r, self.total) if r else 0.0

    def subtree_share(self, role: str) -> float:
        """Dominant share of what is allocated in ``role`` and its descendants."""
        r, b = self.roles.get(role), self.below.get(role)
        if b is None:
            return dominant_share(r, self.total) if r else 0.0
        if r is not None:
            b = dict(b)
            _acc(b, r, 1.0)
        return dominant_share(b, self.total)

    def framework_share(self, framework_id: str) -> float:
        """Dominant share of the framework's allocation summed over its roles."""
        acc: dict[str, float] = {}
        for (fid, _), q in self.clients.items():
            if fid == framework_id:
                _acc(acc, q, 1.0)
        return dominant_share(acc, self.total)
