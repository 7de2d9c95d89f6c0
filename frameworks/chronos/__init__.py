"""mesopy's Chronos: scheduled (ISO 8601) and dependent jobs on the public SDK, with Chronos' REST API."""

__all__: list[str] = []
