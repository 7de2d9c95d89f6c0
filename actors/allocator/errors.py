"""Errors of the allocator package."""

from __future__ import annotations

__all__ = ["AllocatorError"]


class AllocatorError(ValueError):
    """A bad call into the allocator (duplicate id, bad role or weight, unknown
    allocator name); the message names the bad value."""
