"""Marathon app definitions (pure): parsing with Marathon's defaults, validation that names the
field (422), app ids as paths with groups.

An app is kept as a plain dict of Marathon's JSON fields (``APP_FIELDS``), defaults filled in, so
it is stored and answered as is. ``parse_app(body)`` checks a whole definition (POST, PUT);
``parse_app(body, base=app)`` lays a partial one over an existing app (PATCH, PUT of a known id).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from frameworks.marathon.constraints import constraint_errors
from frameworks.marathon.errors import ValidationError

__all__ = [
    "APP_DEFAULTS", "APP_FIELDS", "HEALTH_DEFAULTS", "HEALTH_PROTOCOLS", "READ_ONLY_FIELDS", "config_of",
    "group_ids", "normalize_id", "parse_app",
]

HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
HEALTH_DEFAULTS: dict[str, Any] = {
    "gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
    "delaySeconds": 15,
}

APP_DEFAULTS: dict[str, Any] = {
    "cmd": None, "args": None, "user": None, "env": {}, "instances": 1, "cpus": 1.0, "mem": 128.0,
    "disk": 0.0, "gpus": 0, "executor": "", "constraints": [], "uris": [], "fetch": [], "storeUrls": [],
    "backoffSeconds": 1, "backoffFactor": 1.15, "maxLaunchDelaySeconds": 3600, "container": None,
    "healthChecks": [], "readinessChecks": [], "dependencies": [],
    "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
    "labels": {}, "acceptedResourceRoles": None, "ipAddress": None, "secrets": {},
    "taskKillGracePeriodSeconds": None, "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
    "killSelection": "YOUNGEST_FIRST", "requirePorts": False,
    "portDefinitions": [{"port": 0, "protocol": "tcp", "labels": {}}],
}
#: Answered by the API, never taken from a request (clients send some of them back; ignored).
READ_ONLY_FIELDS = ("version", "versionInfo", "tasks", "tasksRunning", "tasksStaged", "tasksHealthy",
                    "tasksUnhealthy", "deployments", "lastTaskFailure", "taskStats", "readinessCheckResults")
APP_FIELDS = ("id", *APP_DEFAULTS, "ports")
#: Fields whose change is a scaling, not a new configuration (no rolling restart).
_SCALING_ONLY = ("instances",)

_SEGMENT = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$")
_KILL_SELECTIONS = ("YOUNGEST_FIRST", "OLDEST_FIRST")
_PROTOCOLS = ("tcp", "udp", "udp,tcp", "tcp,udp")


def normalize_id(raw: Any, path: str = "/id") -> str:
    """``prod/web`` or ``/prod/web/`` -> ``/prod/web``; ValidationError naming ``path`` otherwise."""
    if not isinstance(raw, str) or not raw.strip("/"):
        raise ValidationError([(path, f"an app id is a path like /prod/web, got {raw!r}")])
    segments = [s for s in raw.strip().strip("/").split("/")]
    bad = [s for s in segments if not _SEGMENT.match(s)]
    if bad:
        raise ValidationError([(path, f"path segment {bad[0]!r} of {raw!r} must be lower-case letters, digits, "
                                      "'-' and '.' (not at either end)")])
    return "/" + "/".join(segments)


def group_ids(app_id: str) -> list[str]:
    """The groups an app id lies in, outermost first: ``/prod/web`` -> ``["/", "/prod"]``."""
    parts = app_id.strip("/").split("/")[:-1]
    return ["/"] + ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def config_of(app: Mapping[str, Any]) -> dict[str, Any]:
    """What makes up an app's configuration: every field but instances and the read-only ones
    (two apps with equal configs differ only in scale)."""
    return {k: v for k, v in app.items() if k not in _SCALING_ONLY and k not in READ_ONLY_FIELDS}


class _Checker:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def number(self, app: dict[str, Any], key: str, path: str, *, low: float | None = 0.0,
               high: float | None = None, integer: bool = False) -> None:
        value = app.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            self.fail(path, f"must be {kind}, got {value!r}")
        elif low is not None and value < low:
            self.fail(path, f"got {value}, expected {low} or more")
        elif high is not None and value > high:
            self.fail(path, f"got {value}, expected {high} or less")

    def strings_map(self, app: dict[str, Any], key: str) -> None:
        value = app.get(key)
        if not isinstance(value, dict):
            self.fail(f"/{key}", f"must be an object of strings, got {value!r}")
            return
        for name, item in value.items():
            if not isinstance(item, str):
                self.fail(f"/{key}/{name}", f"must be a string, got {item!r}")

    def strings_list(self, app: dict[str, Any], key: str, nullable: bool = False) -> None:
        value = app.get(key)
        if value is None and nullable:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"/{key}", f"must be a list of strings, got {value!r}")


def _ports(app: dict[str, Any], given: Mapping[str, Any], check: _Checker) -> None:
    if "ports" in given and "portDefinitions" in given:
        check.fail("/ports", "give ports or portDefinitions, not both")
        return
    if "ports" in given:
        ports = given["ports"]
        if not isinstance(ports, list):
            check.fail("/ports", f"must be a list of port numbers, got {ports!r}")
            return
        app["portDefinitions"] = [{"port": p, "protocol": "tcp", "labels": {}} for p in ports]
    defs = app["portDefinitions"]
    if not isinstance(defs, list):
        check.fail("/portDefinitions", f"must be a list, got {defs!r}")
        return
    names: set[str] = set()
    for i, d in enumerate(defs):
        where = f"/portDefinitions({i})"
        if not isinstance(d, dict):
            check.fail(where, f"must be an object, got {d!r}")
            continue
        d.setdefault("protocol", "tcp")
        d.setdefault("labels", {})
        port = d.get("port", 0)
        d["port"] = port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            check.fail(f"{where}/port", f"got {port!r}, expected 0 to 65535")
        if d["protocol"] not in _PROTOCOLS:
            check.fail(f"{where}/protocol", f"must be one of {', '.join(_PROTOCOLS)}, got {d['protocol']!r}")
        name = d.get("name")
        if name is not None:
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]+", name):
                check.fail(f"{where}/name", f"must match [a-z0-9-]+, got {name!r}")
            elif name in names:
                check.fail(f"{where}/name", f"port names must be unique, {name!r} is repeated")
            names.add(str(name))
        for extra in set(d) - {"port", "protocol", "name", "labels"}:
            check.fail(f"{where}/{extra}", "is not a field of a port definition")
    fixed = [d["port"] for d in defs if isinstance(d, dict) and d.get("port")]
    if len(fixed) != len(set(fixed)):
        check.fail("/portDefinitions", f"ports must be unique, got {fixed}")


def _health_checks(app: dict[str, Any], check: _Checker) -> None:
    checks = app["healthChecks"]
    if not isinstance(checks, list):
        check.fail("/healthChecks", f"must be a list, got {checks!r}")
        return
    for i, hc in enumerate(checks):
        where = f"/healthChecks({i})"
        if not isinstance(hc, dict):
            check.fail(where, f"must be an object, got {hc!r}")
            continue
        protocol = hc.setdefault("protocol", "HTTP")
        if protocol not in HEALTH_PROTOCOLS:
            check.fail(f"{where}/protocol", f"must be one of {', '.join(HEALTH_PROTOCOLS)}, got {protocol!r}")
        for key, default in HEALTH_DEFAULTS.items():
            hc.setdefault(key, default)
            check.number(hc, key, f"{where}/{key}", integer=True)
        hc.setdefault("ignoreHttp1xx", False)
        if protocol == "COMMAND":
            command = hc.get("command")
            if isinstance(command, str):
                command = hc["command"] = {"value": command}
            if not isinstance(command, dict) or not isinstance(command.get("value"), str) or not command["value"]:
                check.fail(f"{where}/command", f"a COMMAND health check needs {{\"value\": \"...\"}}, got {command!r}")
            continue
        if protocol in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
            hc.setdefault("path", "/")
        if "port" in hc:
            check.number(hc, "port", f"{where}/port", low=1, high=65535, integer=True)
        else:
            hc.setdefault("portIndex", 0)
            index = hc["portIndex"]
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(app["portDefinitions"]):
                check.fail(f"{where}/portIndex", f"got {index!r}; the app has {len(app['portDefinitions'])} port(s)")


def _validate(app: dict[str, Any], given: Mapping[str, Any], check: _Checker) -> None:
    for key in ("cpus", "mem", "disk"):
        check.number(app, key, f"/{key}")
    check.number(app, "gpus", "/gpus", integer=True)
    check.number(app, "instances", "/instances", integer=True)
    check.number(app, "backoffSeconds", "/backoffSeconds")
    check.number(app, "backoffFactor", "/backoffFactor", low=1.0)
    check.number(app, "maxLaunchDelaySeconds", "/maxLaunchDelaySeconds")
    if app["cmd"] is not None and not isinstance(app["cmd"], str):
        check.fail("/cmd", f"must be a string, got {app['cmd']!r}")
    check.strings_list(app, "args", nullable=True)
    if app["cmd"] is not None and app["args"] is not None:
        check.fail("/", "give cmd or args, not both")
    if app["cmd"] is None and app["args"] is None and app["container"] is None:
        check.fail("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'")
    if app["user"] is not None and not isinstance(app["user"], str):
        check.fail("/user", f"must be a string, got {app['user']!r}")
    check.strings_map(app, "env")
    check.strings_map(app, "labels")
    for key in ("uris", "storeUrls", "dependencies"):
        check.strings_list(app, key)
    check.strings_list(app, "acceptedResourceRoles", nullable=True)
    if not isinstance(app["constraints"], list):
        check.fail("/constraints", f"must be a list, got {app['constraints']!r}")
    else:
        for i, c in enumerate(app["constraints"]):
            for problem in constraint_errors(c):
                check.fail(f"/constraints({i})", problem)
            if not constraint_errors(c):
                app["constraints"][i] = [c[0], c[1].upper(), *[str(v) for v in c[2:]]]
    strategy = app["upgradeStrategy"]
    if not isinstance(strategy, dict):
        check.fail("/upgradeStrategy", f"must be an object, got {strategy!r}")
    else:
        for key in ("minimumHealthCapacity", "maximumOverCapacity"):
            strategy.setdefault(key, 1.0)
            check.number(strategy, key, f"/upgradeStrategy/{key}", high=1.0)
    if app["killSelection"] not in _KILL_SELECTIONS:
        check.fail("/killSelection", f"must be one of {', '.join(_KILL_SELECTIONS)}, got {app['killSelection']!r}")
    if not isinstance(app["requirePorts"], bool):
        check.fail("/requirePorts", f"must be true or false, got {app['requirePorts']!r}")
    _ports(app, given, check)
    if not check.errors:
        _health_checks(app, check)


def parse_app(body: Any, *, base: Mapping[str, Any] | None = None, app_id: str | None = None) -> dict[str, Any]:
    """A full app definition from a request body: Marathon's defaults under ``body`` (or
    ``base`` under it: an update); ``app_id`` (from the URL) wins over the body's id.
    ValidationError listing every bad field by its JSON path."""
    if not isinstance(body, dict):
        raise ValidationError([("/", f"an app definition is a JSON object, got {type(body).__name__}")])
    unknown = [k for k in body if k not in APP_FIELDS and k not in READ_ONLY_FIELDS]
    if unknown:
        raise ValidationError([(f"/{k}", "is not a field of an app definition") for k in sorted(unknown)])
    given = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY_FIELDS}
    app: dict[str, Any] = copy.deepcopy(dict(base)) if base is not None else copy.deepcopy(APP_DEFAULTS)
    for key in READ_ONLY_FIELDS:
        app.pop(key, None)
    app.pop("ports", None)  # given ports become portDefinitions (_ports)
    raw_id = app_id if app_id is not None else given.get("id", app.get("id"))
    if base is not None and "id" in given and app_id is not None and normalize_id(given["id"]) != app_id:
        raise ValidationError([("/id", f"the body's id {given['id']!r} is not the app's {app_id!r}")])
    app.update({k: v for k, v in given.items() if k not in ("id", "ports")})
    app["id"] = normalize_id(raw_id)
    check = _Checker()
    _validate(app, given, check)
    if check.errors:
        raise ValidationError(check.errors)
    return {k: app[k] for k in ("id", *APP_DEFAULTS)}
