"""Chronos' job JSON (pure): defaults, validation with errors naming the field and value.

``parse_job(body, kind, defaults, existing)`` turns a posted job (``kind`` is
"iso8601" for ``POST /scheduler/iso8601`` or "dependency" for
``POST /scheduler/dependency``) into the stored job dict, with Chronos'
defaults filled in. The read-only fields (``successCount``, ``errorCount``,
``lastSuccess``, ``lastError``, ``errorsSinceLastSuccess``) are never taken
from the body: they come from the job being replaced, else start empty.
``check_parents`` refuses unknown parents and dependency cycles. Every
refusal is a JobError, answered 400 by the API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from frameworks.chronos.graph import DependencyGraph, GraphError
from frameworks.chronos.schedule import ScheduleError, format_time, parse_duration, parse_schedule

__all__ = ["READ_ONLY", "JobDefaults", "JobError", "check_parents", "iso_time", "parse_job"]

NAME = re.compile(r"[\w.-]+")
CONSTRAINT_OPERATORS = ("EQUALS", "LIKE", "UNLIKE")
READ_ONLY = ("successCount", "errorCount", "lastSuccess", "lastError", "errorsSinceLastSuccess")
_BOOLS = ("shell", "async", "disabled", "softError", "concurrent", "dataJob", "highPriority")
_TEXTS = ("description", "owner", "ownerName", "executor", "executorFlags", "runAsUser", "taskInfoData")
MAX_RETRIES = 100


class JobError(ValueError):
    """A job Chronos would refuse; ``str()`` names the field and the bad value."""

    def __init__(self, field: str, value: Any, why: str) -> None:
        super().__init__(f"{field}: {why}, got {value!r}")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class JobDefaults:
    """What a job that does not say gets (mesopy-chronos' --mesos_task_* and --task_epsilon flags)."""

    cpus: float = 0.1
    mem: float = 128.0
    disk: float = 256.0
    epsilon: str = "PT60S"
    user: str = "root"
    retries: int = 2


def iso_time(epoch: float) -> str:
    """Chronos' time text for ``lastSuccess``/``lastError``: ``2014-03-08T16:57:17.507Z``."""
    return format_time(datetime.fromtimestamp(epoch, timezone.utc))


def _number(body: Mapping[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, str):  # Chronos' own docs post "cpus": "0.5"
        try:
            value = float(value)
        except ValueError:
            raise JobError(name, body[name], "must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise JobError(name, body.get(name), "must be a number")
    if value < 0:
        raise JobError(name, value, "must be >= 0")
    return float(value)


def _string_list(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JobError(name, value, "must be a list of strings")
    return list(value)


def _environment(body: Mapping[str, Any]) -> list[dict[str, str]]:
    value = body.get("environmentVariables", [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise JobError("environmentVariables", value, "must be a list of {name, value}")
    out = []
    for item in value:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]
                and isinstance(item.get("value", ""), str)):
            raise JobError("environmentVariables", item, "each must be {\"name\": text, \"value\": text}")
        out.append({"name": item["name"], "value": item.get("value", "")})
    return out


def _constraints(body: Mapping[str, Any]) -> list[list[str]]:
    value = body.get("constraints", [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise JobError("constraints", value, "must be a list of [attribute, operator, value]")
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 3 and all(isinstance(p, str) for p in item)):
            raise JobError("constraints", item, "each must be [attribute, operator, value]")
        if item[1] not in CONSTRAINT_OPERATORS:
            raise JobError("constraints", item, f"operator must be one of {', '.join(CONSTRAINT_OPERATORS)}")
        if item[1] in ("LIKE", "UNLIKE"):
            try:
                re.compile(item[2])
            except re.error as e:
                raise JobError("constraints", item, f"bad regular expression ({e})") from None
        out.append(list(item))
    return out


def _when(body: Mapping[str, Any], kind: str, defaults: JobDefaults, now: datetime | None) -> dict[str, Any]:
    """The schedule (iso8601) or parents (dependency) part, checked."""
    has_schedule, has_parents = body.get("schedule") not in (None, ""), bool(body.get("parents"))
    zone = body.get("scheduleTimeZone", "") or ""
    if not isinstance(zone, str):
        raise JobError("scheduleTimeZone", zone, "must be a tz database name such as Europe/Berlin")
    epsilon = body.get("epsilon", defaults.epsilon) or defaults.epsilon
    if not isinstance(epsilon, str):
        raise JobError("epsilon", epsilon, "must be an ISO 8601 duration such as PT60S")
    try:
        parse_duration(epsilon, "epsilon")
    except ScheduleError as e:
        raise JobError("epsilon", epsilon, e.reason) from None
    if kind == "iso8601":
        if has_parents:
            raise JobError("parents", body.get("parents"), "a scheduled job has no parents (POST it to "
                           "/scheduler/dependency)")
        text = body.get("schedule")
        if not isinstance(text, str) or not text:
            raise JobError("schedule", text, "a scheduled job needs an ISO 8601 schedule such as "
                           "R/2026-12-01T00:00:00Z/PT1H")
        try:
            schedule = parse_schedule(text, zone, now)
        except ScheduleError as e:
            if e.field == "scheduleTimeZone":
                raise JobError("scheduleTimeZone", zone, e.reason) from None
            part = f" ({e.value!r})" if e.value != text else ""
            raise JobError("schedule", text, f"{e.reason}{part}") from None
        if text.split("/")[1:2] == [""]:  # an empty start is now: store the time it stands for
            text = str(schedule)
        return {"schedule": text, "scheduleTimeZone": zone, "epsilon": epsilon}
    if has_schedule:
        raise JobError("schedule", body.get("schedule"), "a dependent job has no schedule (POST it to "
                       "/scheduler/iso8601)")
    parents = _string_list(body, "parents")
    if not parents:
        raise JobError("parents", body.get("parents"), "a dependent job needs a list of parent job names")
    if len(set(parents)) != len(parents):
        raise JobError("parents", parents, "lists a parent twice")
    return {"parents": parents, "epsilon": epsilon}


def parse_job(body: Any, kind: str, defaults: JobDefaults = JobDefaults(),
              existing: Mapping[str, Any] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The job to store for ``body`` posted as ``kind`` ("iso8601" or "dependency"); JobError if bad.
    ``now`` is the time an empty schedule start (``R//PT1H``) stands for."""
    if kind not in ("iso8601", "dependency"):
        raise ValueError(f"kind must be 'iso8601' or 'dependency', got {kind!r}")
    if not isinstance(body, dict):
        raise JobError("job", body, "must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise JobError("name", name, r"must match ([\w.-]+)")
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise JobError("command", command, "must be a non-empty command")
    if "container" in body and body["container"] not in (None, {}):
        raise JobError("container", body["container"], "containers are not supported by mesopy-chronos")
    job: dict[str, Any] = {"name": name, "command": command}
    for flag in _BOOLS:
        value = body.get(flag, flag == "shell")
        if not isinstance(value, bool):
            raise JobError(flag, value, "must be true or false")
        job[flag] = value
    for text in _TEXTS:
        value = body.get(text, defaults.user if text == "runAsUser" else "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise JobError(text, value, "must be text")
        job[text] = value or (defaults.user if text == "runAsUser" else "")
    job["arguments"] = _string_list(body, "arguments")
    retries = body.get("retries", defaults.retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise JobError("retries", retries, f"must be an integer in 0-{MAX_RETRIES}")
    job["retries"] = retries
    max_time = body.get("maxCompletionTime", 0) or 0
    if isinstance(max_time, bool) or not isinstance(max_time, (int, float)) or max_time < 0:
        raise JobError("maxCompletionTime", max_time, "must be a number of seconds >= 0")
    job["maxCompletionTime"] = max_time
    job["cpus"] = _number(body, "cpus", defaults.cpus)
    job["mem"] = _number(body, "mem", defaults.mem)
    job["disk"] = _number(body, "disk", defaults.disk)
    if job["cpus"] <= 0 and job["mem"] <= 0:
        raise JobError("cpus", job["cpus"], "a job needs some cpus or mem")
    job["environmentVariables"] = _environment(body)
    job["constraints"] = _constraints(body)
    job["uris"] = _string_list(body, "uris")
    fetch = body.get("fetch", []) or []
    if not isinstance(fetch, list) or not all(isinstance(f, dict) and isinstance(f.get("uri"), str) for f in fetch):
        raise JobError("fetch", fetch, "must be a list of {\"uri\": ...}")
    job["fetch"] = fetch
    job.update(_when(body, kind, defaults, now))
    for field in READ_ONLY:
        job[field] = (existing or {}).get(field, "" if field.startswith("last") else 0)
    return job


def check_parents(job: Mapping[str, Any], graph: DependencyGraph, known: Collection[str]) -> None:
    """JobError naming ``parents`` for an unknown parent or a dependency cycle (a job its own ancestor)."""
    parents = list(job.get("parents") or [])
    if not parents:
        return
    try:
        graph.check(str(job["name"]), parents, known)
    except GraphError as e:
        raise JobError("parents", e.value, e.reason) from None
