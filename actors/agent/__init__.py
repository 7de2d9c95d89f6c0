"""actors/agent package."""
