"""Strict priority allocation: the highest-weight role takes everything first.

``StrictPriorityAllocator`` keeps all of ``AllocatorCore``'s bookkeeping
(allocation, recovery, filters, suppression, reservations) and changes only
the order in which candidates are tried for each agent:

- roles by weight, highest first (ties by role name); a role's weight comes
  from ``weights`` / ``set_weights`` (default 1). Hierarchical roles are
  ordered so at each level of the role tree: ``eng`` (with its subroles)
  against its siblings by ``eng``'s weight, then ``eng``'s children among
  themselves (``eng``'s own frameworks, beside its subroles, with weight 1);
- within a role, frameworks in order of registration (``add_framework``).

For each agent the first (role, framework) in that order that is active, not
suppressed in the role, not filtered on the agent, and for which the agent has
allocatable resources gets all of them. Shares play no part: a higher-priority
framework is offered everything again every cycle until it declines with a
filter (``refuse_seconds`` > 0), suppresses, or deactivates; only then do
lower-priority roles or later frameworks see those agents. Resources reserved
to a role still go only to that role's frameworks.
"""

from __future__ import annotations

from typing import Any

from actors.allocator.core import AllocatorCore

__all__ = ["StrictPriorityAllocator"]


class StrictPriorityAllocator(AllocatorCore):
    """Roles by weight (highest first), frameworks by registration order."""

    def _role_entry(self, path: str, virtual: bool) -> tuple[Any, ...]:
        return (-1.0, path + "/.") if virtual else (-self.weight(path), path)

    def _client_entry(self, framework_id: str, role: str, seq: int) -> tuple[Any, ...]:
        return (seq, framework_id)
