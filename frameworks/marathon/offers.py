"""Offer matching (pure): does an offer hold an app's cpus, mem, disk and ports on an agent its
constraints allow, and the TaskInfo that runs one instance there.

An ``OfferSpace`` is what is left of one offer while several tasks are placed in it. Host ports
come from the offered ranges: the port definition's own number with ``requirePorts``, else the
lowest free one; the task sees them as ``PORT0..n``, ``PORT`` (the first), ``PORTS`` and
``PORT_<NAME>`` for named ports, as Marathon sets them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from frameworks.marathon.constraints import Placement, accepts, attribute_values

__all__ = ["Match", "OfferSpace", "health_check_info", "task_environment", "task_info"]

_SCALARS = ("cpus", "mem", "disk")


@dataclass(frozen=True)
class Match:
    """One instance placed in an offer: the resources it takes and its host ports."""

    resources: list[dict[str, Any]]
    host_ports: list[int]


@dataclass
class OfferSpace:
    """The unused part of one offer (Mesos v1 JSON), used up task by task."""

    offer: Mapping[str, Any]
    scalars: dict[tuple[str, str], float] = field(default_factory=dict)  # (name, role) -> amount
    ports: dict[str, list[list[int]]] = field(default_factory=dict)  # role -> [[begin, end], ...]

    def __post_init__(self) -> None:
        for res in self.offer.get("resources", []):
            role = str(res.get("role") or (res.get("reservations") or [{}])[-1].get("role") or "*")
            name = res.get("name")
            if name in _SCALARS and res.get("type", "SCALAR") == "SCALAR":
                key = (str(name), role)
                self.scalars[key] = self.scalars.get(key, 0.0) + float(res.get("scalar", {}).get("value", 0.0))
            elif name == "ports":
                for r in res.get("ranges", {}).get("range", []):
                    self.ports.setdefault(role, []).append([int(r["begin"]), int(r["end"])])

    @property
    def hostname(self) -> str:
        return str(self.offer.get("hostname", ""))

    @property
    def placement(self) -> Placement:
        return self.hostname, attribute_values(self.offer.get("attributes", []))

    def take(self, app: Mapping[str, Any], placed: Sequence[Placement]) -> Match | str:
        """Reserve one instance of ``app`` here: its Match, or why it does not fit (text)."""
        if not accepts(app["constraints"], self.placement, placed):
            return f"constraints {app['constraints']} are not met on {self.hostname}"
        roles = app.get("acceptedResourceRoles") or [r for r in self._roles()]
        taken: list[dict[str, Any]] = []
        plan: list[tuple[tuple[str, str], float]] = []
        for name in _SCALARS:
            need = float(app[name])
            for role in roles:
                if need <= 1e-9:
                    break
                have = self.scalars.get((name, role), 0.0)
                part = min(have, need)
                if part > 1e-9:
                    plan.append(((name, role), part))
                    need -= part
            if need > 1e-9:
                return f"not enough {name} on {self.hostname}: needs {app[name]}"
        ports = self._pick_ports(app, roles)
        if isinstance(ports, str):
            return ports
        for key, part in plan:
            self.scalars[key] -= part
            taken.append({"name": key[0], "type": "SCALAR", "scalar": {"value": round(part, 6)}, "role": key[1]})
        by_role: dict[str, list[int]] = {}
        for role, port in ports:
            self._remove_port(role, port)
            by_role.setdefault(role, []).append(port)
        for role, numbers in by_role.items():
            taken.append({"name": "ports", "type": "RANGES", "role": role,
                          "ranges": {"range": [{"begin": p, "end": p} for p in sorted(numbers)]}})
        return Match(taken, [port for _, port in ports])

    def _roles(self) -> list[str]:
        return sorted({role for _, role in self.scalars} | set(self.ports), key=lambda r: (r == "*", r))

    def _pick_ports(self, app: Mapping[str, Any], roles: Sequence[str]) -> list[tuple[str, int]] | str:
        chosen: list[tuple[str, int]] = []
        for definition in app["portDefinitions"]:
            wanted = int(definition.get("port", 0)) if app.get("requirePorts") else 0
            found = self._free_port(roles, wanted, {p for _, p in chosen})
            if found is None:
                what = f"port {wanted}" if wanted else "a free port"
                return f"{what} is not offered on {self.hostname}"
            chosen.append(found)
        return chosen

    def _free_port(self, roles: Sequence[str], wanted: int, used: set[int]) -> tuple[str, int] | None:
        for role in roles:
            for begin, end in self.ports.get(role, []):
                if wanted:
                    if begin <= wanted <= end and wanted not in used:
                        return role, wanted
                    continue
                for port in range(begin, end + 1):
                    if port not in used:
                        return role, port
        return None

    def _remove_port(self, role: str, port: int) -> None:
        out: list[list[int]] = []
        for begin, end in self.ports.get(role, []):
            if begin <= port <= end:
                out.extend(r for r in ([begin, port - 1], [port + 1, end]) if r[0] <= r[1])
            else:
                out.append([begin, end])
        self.ports[role] = out


def task_environment(app: Mapping[str, Any], task_id: str, host: str, host_ports: Sequence[int],
                     service_ports: Sequence[int]) -> dict[str, str]:
    """The environment Marathon gives a task: its ports, host, app id and version, and the app's env."""
    env: dict[str, str] = {}
    for i, port in enumerate(host_ports):
        env[f"PORT{i}"] = str(port)
        definition = app["portDefinitions"][i]
        if definition.get("name"):
            env["PORT_" + str(definition["name"]).upper().replace("-", "_")] = str(port)
        if i < len(service_ports) and service_ports[i]:
            env[f"PORT_{service_ports[i]}"] = str(port)
    if host_ports:
        env["PORT"] = str(host_ports[0])
        env["PORTS"] = ",".join(str(p) for p in host_ports)
    env.update({"HOST": host, "MARATHON_APP_ID": str(app["id"]), "MARATHON_APP_VERSION": str(app.get("version", "")),
                "MESOS_TASK_ID": task_id, "MARATHON_APP_RESOURCE_CPUS": str(app["cpus"]),
                "MARATHON_APP_RESOURCE_MEM": str(app["mem"]), "MARATHON_APP_RESOURCE_DISK": str(app["disk"])})
    env.update(app.get("env") or {})
    return env


def health_check_info(check: Mapping[str, Any], host_ports: Sequence[int]) -> dict[str, Any]:
    """One Marathon health check as Mesos' TaskInfo.health_check (run by the executor):
    HTTP/MESOS_HTTP(S) -> HTTP, TCP/MESOS_TCP -> TCP, COMMAND; ``portIndex`` -> the host port."""
    protocol = str(check["protocol"])
    out: dict[str, Any] = {
        "grace_period_seconds": float(check["gracePeriodSeconds"]),
        "interval_seconds": float(check["intervalSeconds"]),
        "timeout_seconds": float(check["timeoutSeconds"]),
        "consecutive_failures": int(check["maxConsecutiveFailures"]),
        "delay_seconds": float(check.get("delaySeconds", 0)),
    }
    if protocol == "COMMAND":
        out.update(type="COMMAND", command={"value": str(check["command"]["value"]), "shell": True})
        return out
    port = int(check["port"]) if "port" in check else int(host_ports[int(check.get("portIndex", 0))])
    if protocol.endswith("TCP"):
        out.update(type="TCP", tcp={"port": port})
    else:
        out.update(type="HTTP", http={"port": port, "path": str(check.get("path", "/")),
                                      "scheme": "https" if protocol.endswith("HTTPS") else "http"})
    return out


def task_info(app: Mapping[str, Any], task_id: str, offer: Mapping[str, Any], match: Match,
              service_ports: Sequence[int]) -> dict[str, Any]:
    """The TaskInfo (Mesos v1 JSON) that runs one instance of ``app`` with ``match``."""
    env = task_environment(app, task_id, str(offer.get("hostname", "")), match.host_ports, service_ports)
    command: dict[str, Any] = {"environment": {"variables": [{"name": k, "value": v} for k, v in env.items()]}}
    if app.get("args"):
        command.update(shell=False, value=app["args"][0], arguments=list(app["args"]))
    else:
        command.update(shell=True, value=app.get("cmd") or "")
    if app.get("uris"):
        command["uris"] = [{"value": u} for u in app["uris"]]
    if app.get("user"):
        command["user"] = app["user"]
    info: dict[str, Any] = {
        "name": str(app["id"]).strip("/").replace("/", "."),
        "task_id": {"value": task_id},
        "agent_id": dict(offer["agent_id"]),
        "resources": match.resources,
        "command": command,
        "labels": {"labels": [{"key": k, "value": v} for k, v in (app.get("labels") or {}).items()]},
    }
    checks = app.get("healthChecks") or []
    if checks:  # Mesos runs one check per task: the first
        info["health_check"] = health_check_info(checks[0], match.host_ports)
    return info
