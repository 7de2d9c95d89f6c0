"""The allocator: who is offered what (pure cores; the actor shell lives apart).

``AllocatorCore`` / ``HierarchicalDRFAllocator`` (default) and
``StrictPriorityAllocator``; ``load_allocator(name)`` picks one by name or
dotted path.
"""

from actors.allocator.core import (
    MAX_REFUSE_SECONDS,
    AllocatorCore,
    HierarchicalDRFAllocator,
)
from actors.allocator.errors import AllocatorError
from actors.allocator.loader import ALLOCATORS, load_allocator
from actors.allocator.sorter import DRFSorter, dominant_share
from actors.allocator.strict import StrictPriorityAllocator

__all__ = [
    "ALLOCATORS",
    "MAX_REFUSE_SECONDS",
    "AllocatorCore",
    "AllocatorError",
    "DRFSorter",
    "HierarchicalDRFAllocator",
    "StrictPriorityAllocator",
    "dominant_share",
    "load_allocator",
]
