"""actors/master package."""
