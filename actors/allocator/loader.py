"""Choosing an allocator by name (the master's ``--allocator`` flag)."""

from __future__ import annotations

import importlib

from actors.allocator.core import AllocatorCore, HierarchicalDRFAllocator
from actors.allocator.errors import AllocatorError
from actors.allocator.strict import StrictPriorityAllocator

__all__ = ["ALLOCATORS", "load_allocator"]

ALLOCATORS: dict[str, type[AllocatorCore]] = {
    "drf": HierarchicalDRFAllocator,
    "hierarchical": HierarchicalDRFAllocator,
    "hierarchical_drf": HierarchicalDRFAllocator,
    "strict": StrictPriorityAllocator,
    "priority": StrictPriorityAllocator,
}


def load_allocator(name: str = "drf") -> type[AllocatorCore]:
    """``"drf"`` / ``"hierarchical"`` (default, also ``""``) -> hierarchical DRF;
    ``"strict"`` / ``"priority"`` -> strict priority; anything else a dotted
    path ``"pkg.mod.Class"`` to an ``AllocatorCore`` subclass."""
    if not isinstance(name, str):
        raise AllocatorError(f"allocator name must be a string, got {name!r}")
    key = name.strip().lower() or "drf"
    if key in ALLOCATORS:
        return ALLOCATORS[key]
    mod_name, dot, cls_name = name.strip().rpartition(".")
    if not dot or not mod_name or not cls_name:
        raise AllocatorError(f"unknown allocator {name!r}: expected drf, strict or a dotted path pkg.mod.Class")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise AllocatorError(f"allocator {name!r}: cannot import {mod_name!r}: {e}") from None
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type) or not issubclass(cls, AllocatorCore):
        raise AllocatorError(f"allocator {name!r}: {cls_name!r} is not an AllocatorCore subclass in {mod_name!r}")
    return cls
