"""Service ports and which tasks go first when an app shrinks (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from frameworks.marathon.instances import TaskRecord

__all__ = ["SERVICE_PORT_MAX", "SERVICE_PORT_MIN", "order_for_kill", "service_ports_for"]

SERVICE_PORT_MIN, SERVICE_PORT_MAX = 10000, 20000  # Marathon's --local_port_min / --local_port_max


def service_ports_for(definitions: Sequence[Mapping[str, Any]], others: Iterable[Mapping[str, Any]],
                      previous: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Port definitions with each ``port: 0`` replaced by a service port no other app uses (the
    one it had before, if it had one): Marathon's ``servicePorts``."""
    taken = {int(d["port"]) for app in others for d in app.get("portDefinitions", [])}
    out: list[dict[str, Any]] = []
    mine = {int(d["port"]) for d in definitions if d.get("port")}
    candidates = iter(p for p in range(SERVICE_PORT_MIN, SERVICE_PORT_MAX + 1) if p not in taken and p not in mine)
    for i, definition in enumerate(definitions):
        d = dict(definition)
        if not d.get("port"):
            before = int(previous[i]["port"]) if previous and i < len(previous) else 0
            d["port"] = before if before and before not in taken and before not in mine else next(candidates, 0)
            if not d["port"]:
                raise ValueError(f"no free service port left in {SERVICE_PORT_MIN}-{SERVICE_PORT_MAX}")
            mine.add(d["port"])
        out.append(d)
    return out


def order_for_kill(tasks: Sequence[TaskRecord], app: Mapping[str, Any], count: int) -> list[TaskRecord]:
    """The ``count`` tasks to kill first: not yet running or unhealthy ones, then by the app's
    ``killSelection`` (YOUNGEST_FIRST: the latest staged)."""
    if count <= 0:
        return []
    checks = bool(app.get("healthChecks"))
    youngest = app.get("killSelection", "YOUNGEST_FIRST") == "YOUNGEST_FIRST"
    ranked = sorted(tasks, key=lambda t: (t.ready(checks), -t.staged_at if youngest else t.staged_at))
    return ranked[:count]
