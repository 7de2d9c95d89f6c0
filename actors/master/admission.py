"""Admission of framework registrations: Mesos' ``--rate_limits`` and a cap per peer.

``--rate_limits`` takes Mesos' RateLimits JSON (or ``file://`` a path to it)::

    {"limits": [{"principal": "foo", "qps": 55.5, "capacity": 100000},
                {"principal": "bar"}],
     "aggregate_default_qps": 33.3, "aggregate_default_capacity": 1000}

A principal listed with a ``qps`` is throttled to it (all its frameworks
together); one listed without is never throttled. Every other registration —
an unlisted principal or none — is throttled at ``aggregate_default_qps`` per
peer (the sender's ``host:port``), so one flooding peer cannot hold back the
others (Mesos throttles them as one aggregate). Mesos queues messages over
the rate (up to ``capacity``); mesopy throttles registrations only, and drops
those over the rate (counted and logged, bounded): a driver retries its
registration with backoff. ``capacity`` is validated and kept for the state.

``--max_frameworks_per_peer`` caps the connected frameworks whose scheduler
lives at one ``host:port``; a registration beyond it gets a FrameworkError
naming the peer and the limit.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from actors.entitlement import Entitlements
from actors.master.model import Effect, Framework, Send, id_value
from actors.master.rate_limits import parse_rate_limits
from transport import messages as m

__all__ = ["MAX_BUCKETS", "Admission"]

#: Token buckets kept (least recently used dropped first; a dropped bucket was as good as full).
MAX_BUCKETS = 10_000


class Admission:
    """Checks each RegisterFramework / ReregisterFramework before its handler runs."""

    def __init__(self, rate_limits: str, max_frameworks_per_peer: int, frameworks: dict[str, Framework],
                 framework_pids: dict[str, str]) -> None:
        self.limits = parse_rate_limits(rate_limits)
        self.max_frameworks_per_peer = max_frameworks_per_peer
        self._frameworks = frameworks  # the core's own tables, read only
        self._framework_pids = framework_pids
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        # Refusals counted and logged as the entitlement tables do (bounded logging).
        self.refused = Entitlements("master_admission", {})

    def admit(self, sender: str, msg: Any, now: float, out: list[Effect]) -> bool:
        if not isinstance(msg, (m.RegisterFramework, m.ReregisterFramework)):
            return True
        info = msg.framework if isinstance(msg.framework, dict) else {}
        principal = info.get("principal")
        principal = principal if isinstance(principal, str) else ""
        peer = sender.rpartition("@")[2]
        kind, qps = self.limits.qps_for(principal)
        if qps is not None and not self._take(f"{kind}:{principal if kind == 'principal' else peer}", qps, now):
            self.refused.refuse(sender, type(msg).__name__, "rate_limited")
            return False
        if self._over_cap(sender, peer, id_value(info.get("id"))):
            self.refused.refuse(sender, type(msg).__name__, "too_many_frameworks_from_peer")
            out.append(Send(sender, m.FrameworkError(
                message=f"Too many frameworks registered from {peer} (--max_frameworks_per_peer="
                        f"{self.max_frameworks_per_peer})")))
            return False
        return True

    def _take(self, key: str, qps: float, now: float) -> bool:
        """Token bucket: ``qps`` tokens a second, at most max(1, qps) saved up."""
        burst = max(1.0, qps)
        tokens, at = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - at) * qps)
        ok = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if ok else tokens, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return ok

    def _over_cap(self, sender: str, peer: str, framework_id: str) -> bool:
        if self._framework_pids.get(sender) is not None:
            return False  # this scheduler is known: a retry or a re-registration, not one more
        fw = self._frameworks.get(framework_id) if framework_id else None
        if fw is not None and fw.connected and fw.pid.rpartition("@")[2] == peer:
            return False  # fails over within the same peer: the count does not grow
        count = sum(1 for f in self._frameworks.values() if f.connected and f.pid.rpartition("@")[2] == peer)
        return count >= self.max_frameworks_per_peer
