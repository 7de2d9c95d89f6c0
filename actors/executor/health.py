"""Mesos' task health checks (TaskInfo.health_check), as pure rules: the check's definition and the
decisions of its checker (no clock, no sockets, no processes: ``now`` is passed in).

Definition (v1 JSON): ``{"type": "COMMAND"|"HTTP"|"TCP", "command": CommandInfo,
"http": {"port", "path", "scheme"}, "tcp": {"port"}, "delay_seconds": 15,
"interval_seconds": 10, "timeout_seconds": 20, "consecutive_failures": 3,
"grace_period_seconds": 10}``. ``parse_health_check`` raises ValueError naming the
bad field; the master refuses such a task with TASK_ERROR (REASON_TASK_INVALID).

Checker (Mesos' health checker as built-in executors use it): the first probe
runs ``delay_seconds`` after the task started, the next ``interval_seconds``
after each result. A failure within ``grace_period_seconds`` of the start and
before the first success is ignored. Every other failure is reported
(unhealthy); the first success, and the first after failures, are reported
(healthy). After ``consecutive_failures`` failures in a row the task is to be
killed (0: never).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["HealthCheck", "HealthChecker", "HealthReport", "parse_health_check"]

_DEFAULTS = {"delay_seconds": 15.0, "interval_seconds": 10.0, "timeout_seconds": 20.0, "grace_period_seconds": 10.0}
TYPES = ("COMMAND", "HTTP", "TCP")


@dataclass(frozen=True)
class HealthCheck:
    type: str
    delay: float
    interval: float
    timeout: float
    grace_period: float
    consecutive_failures: int
    command: dict[str, Any] | None = None  # COMMAND: a CommandInfo
    port: int = 0  # HTTP, TCP
    path: str = "/"  # HTTP
    scheme: str = "http"  # HTTP


def _port(section: Any, where: str) -> int:
    if not isinstance(section, dict):
        raise ValueError(f"health_check.{where} must be an object with a 'port', got {section!r}")
    port = section.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"health_check.{where}.port must be a port number 1-65535, got {port!r}")
    return port


def _seconds(check: dict[str, Any], name: str) -> float:
    value = check.get(name, _DEFAULTS[name])
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"health_check.{name} must be a number >= 0, got {value!r}")
    return float(value)


def parse_health_check(check: Any) -> HealthCheck:
    """The HealthCheck of a TaskInfo's ``health_check``; ValueError naming the bad field."""
    if not isinstance(check, dict):
        raise ValueError(f"health_check must be an object, got {check!r}")
    kind = check.get("type")
    if kind not in TYPES:
        raise ValueError(f"health_check.type must be one of {', '.join(TYPES)}, got {kind!r}")
    timings = {name: _seconds(check, name) for name in _DEFAULTS}
    if timings["timeout_seconds"] <= 0:
        raise ValueError(f"health_check.timeout_seconds must be > 0, got {check.get('timeout_seconds')!r}")
    failures = check.get("consecutive_failures", 3)
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
        raise ValueError(f"health_check.consecutive_failures must be an integer >= 0, got {failures!r}")
    common = dict(type=kind, delay=timings["delay_seconds"], interval=timings["interval_seconds"],
                  timeout=timings["timeout_seconds"], grace_period=timings["grace_period_seconds"],
                  consecutive_failures=failures)
    if kind == "COMMAND":
        command = check.get("command")
        if not isinstance(command, dict):
            raise ValueError(f"health_check.command must be a CommandInfo object, got {command!r}")
        if command.get("shell", True) is not False and not isinstance(command.get("value"), str):
            raise ValueError(f"health_check.command.value must be the command text, got {command.get('value')!r}")
        if command.get("shell", True) is False and not (command.get("value") or command.get("arguments")):
            raise ValueError("health_check.command needs a 'value' (or 'arguments') when shell is false")
        return HealthCheck(**common, command=command)  # type: ignore[arg-type]
    if kind == "TCP":
        return HealthCheck(**common, port=_port(check.get("tcp"), "tcp"))  # type: ignore[arg-type]
    port = _port(check.get("http"), "http")
    http: dict[str, Any] = check["http"]
    path = http.get("path", "/") or "/"
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"health_check.http.path must start with '/', got {path!r}")
    scheme = http.get("scheme", "http") or "http"
    if scheme not in ("http", "https"):
        raise ValueError(f"health_check.http.scheme must be 'http' or 'https', got {scheme!r}")
    return HealthCheck(**common, port=port, path=path, scheme=scheme)  # type: ignore[arg-type]


@dataclass(frozen=True)
class HealthReport:
    """What to tell the scheduler: TASK_RUNNING with ``healthy``; ``kill`` the task now."""

    healthy: bool
    kill: bool
    consecutive_failures: int
    message: str = ""


class HealthChecker:
    """The decisions of one task's health checker; the shell runs the probes it asks for."""

    def __init__(self, check: HealthCheck, started: float) -> None:
        self.check = check
        self.started = started
        self.next_probe = started + check.delay
        self.failures = 0
        self.ever_healthy = False
        self.reported: bool | None = None  # the last health reported (None: none yet)

    def due(self, now: float) -> bool:
        return now >= self.next_probe

    def result(self, ok: bool, now: float, message: str = "") -> HealthReport | None:
        """A probe's outcome at ``now``; what to report (None: nothing). Schedules the next probe."""
        self.next_probe = now + self.check.interval
        if ok:
            was_failing = self.failures > 0 or not self.ever_healthy
            self.failures = 0
            self.ever_healthy = True
            if was_failing:
                self.reported = True
                return HealthReport(True, False, 0, message)
            return None
        if not self.ever_healthy and now - self.started <= self.check.grace_period:
            return None  # within the grace period: ignored
        self.failures += 1
        limit = self.check.consecutive_failures
        self.reported = False
        return HealthReport(False, limit > 0 and self.failures >= limit, self.failures, message)
