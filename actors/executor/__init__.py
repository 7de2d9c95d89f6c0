"""actors/executor package."""
