"""actors/scheduler package."""
