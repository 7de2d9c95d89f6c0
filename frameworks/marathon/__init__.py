"""mesopy's Marathon: long-running apps on the public SDK, behind Marathon's v2 REST API.

Pure parts: appdef (definitions, 422s), constraints, offers (matching, ports, TaskInfo),
backoff, deployments (plans, the rolling rule), instances, placement, core (the state machine).
Shells: scheduler (the SDK Scheduler driving the core), api (the REST routes), events (SSE),
main (``mesopy-marathon``).
"""

__all__: list[str] = []
