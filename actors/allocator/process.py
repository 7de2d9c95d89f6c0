"""The allocator actor: a thin shell around an ``AllocatorCore``.

It lives on the master's node as ``allocator``. The master hands it batches of
core calls (``apply``); it allocates soon after a batch that changed something
(one allocation per burst of queued events, not one per event) and every
``interval`` seconds of the node clock, and passes non-empty allocations
(``AllocatorCore.allocate_roles``: framework -> agent -> role -> resources) to
``on_offers(allocation, now)`` (the master's entry point, any thread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from actors.allocator import AllocatorCore, load_allocator
from actors.allocator.core import RoleOffers
from actors.clock import Timer
from actors.node import Node
from actors.process import Process

__all__ = ["Allocation", "AllocatorProcess", "allocator_class"]

Allocation = RoleOffers


def allocator_class(name: str) -> type[AllocatorCore]:
    """``--allocator`` value -> core class (``hierarchical_drf`` is the default DRF allocator)."""
    return load_allocator(name)


class AllocatorProcess(Process):
    """``AllocatorProcess.spawn(node, "allocator", core, interval, on_offers)``."""

    def __init__(self, node: Node, name: str, core: AllocatorCore, interval: float,
                 on_offers: Callable[[Allocation, float], None]) -> None:
        super().__init__(node, name)
        if not interval > 0:
            raise ValueError(f"allocation interval must be > 0, got {interval!r}")
        self.core = core
        self.interval = interval
        self.on_offers = on_offers
        self._soon = False
        self._batch_timer: Timer | None = None
        self.allocations = 0

    def initialize(self) -> None:
        self._batch_timer = self.delay(self.interval, self._batch)

    def apply(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Run core calls in order (a failing one is logged and skipped), then allocate soon."""
        for method, kwargs in calls:
            try:
                getattr(self.core, method)(**kwargs)
            except Exception:
                self.log.exception("allocator_call_failed", method=method, kwargs=repr(kwargs)[:200])
        if calls and not self._soon:
            self._soon = True
            self.run(self._allocate_soon)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on this thread as this message: after the calls sent before it, before
        the allocation they schedule (``run`` would queue ``fn`` behind that allocation)."""
        fn()

    def _allocate_soon(self) -> None:
        self._soon = False
        self._allocate()

    def _batch(self) -> None:
        self._batch_timer = self.delay(self.interval, self._batch)
        self._allocate()

    def _allocate(self) -> None:
        now = self.clock.now()
        try:
            allocation = self.core.allocate_roles(now)
        except Exception:
            self.log.exception("allocation_failed")
            return
        self.allocations += 1
        if allocation:
            self.log.debug("allocated", frameworks=len(allocation))
            self.on_offers(allocation, now)
