"""actors/allocator package."""
