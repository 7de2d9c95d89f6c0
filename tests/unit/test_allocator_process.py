"""The allocator actor's ordering: ``call(fn)`` runs after the core calls sent before it and
before the allocation they schedule (the operator's reserve relies on it: the resources it
rescinds are still unallocated when it converts them)."""

from __future__ import annotations

import threading
from typing import Any

from actors.allocator import AllocatorCore
from actors.allocator.process import AllocatorProcess
from actors.node import Node
from actors.resources import Resources

R = Resources.parse


def test_call_runs_before_the_allocation_a_batch_schedules() -> None:
    core = AllocatorCore()
    core.add_agent("a0", R("cpus:2;mem:64"))
    core.add_framework("f", ["*"])
    core.allocate_roles(0.0)  # everything is allocated to f
    seen: list[Resources] = []
    done = threading.Event()
    offers: list[Any] = []
    with Node() as node:
        ref = AllocatorProcess.spawn(node, "allocator", core, 3600.0, lambda alloc, now: offers.append(alloc))
        proxy = ref.proxy()
        proxy.apply([("recover_resources", {"framework_id": "f", "agent_id": "a0", "resources": R("cpus:2;mem:64")})])
        proxy.call(lambda: (seen.append(core.available("a0")), done.set()))
        assert done.wait(5)
        ref.stop()
    assert seen == [R("cpus:2;mem:64")]  # not yet offered again when the call ran
