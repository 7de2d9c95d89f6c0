"""isolation package."""
