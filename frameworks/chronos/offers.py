"""Fitting queued runs into offers and the TaskInfo each run is launched with (pure).

A job's ``cpus``/``mem``/``disk`` must fit what is left of an offer (from
the framework's role or the unreserved ``*``), and its ``constraints`` must
hold for the offer's agent: ``[attribute, "EQUALS", value]``,
``[attribute, "LIKE", regex]`` (the whole value matches),
``[attribute, "UNLIKE", regex]``; ``hostname`` is always an attribute.
A task runs the job's ``command`` through the shell (``shell: true``) or as
an executable given ``arguments`` (``shell: false``), with the job's
``environmentVariables`` plus Chronos' ``CHRONOS_JOB_NAME``,
``CHRONOS_JOB_OWNER``, ``CHRONOS_JOB_RUN_ATTEMPT`` and ``mesos_task_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from actors.resources import Resources

__all__ = ["attributes_of", "constraints_hold", "fit", "job_resources", "task_info"]


def job_resources(job: Mapping[str, Any]) -> Resources:
    parts = [f"{name}:{float(job.get(name) or 0):g}" for name in ("cpus", "mem", "disk") if float(job.get(name) or 0) > 0]
    return Resources.parse(";".join(parts))


def attributes_of(offer: Mapping[str, Any]) -> dict[str, str]:
    """An offer's agent attributes as text (scalars as numbers, sets joined by commas) plus ``hostname``."""
    found = {"hostname": str(offer.get("hostname", ""))}
    for attribute in offer.get("attributes") or []:
        kind = attribute.get("type", "TEXT")
        if kind == "SCALAR":
            found[attribute["name"]] = f"{float(attribute.get('scalar', {}).get('value', 0)):g}"
        elif kind == "SET":
            found[attribute["name"]] = ",".join(attribute.get("set", {}).get("item", []))
        elif kind == "TEXT":
            found[attribute["name"]] = str(attribute.get("text", {}).get("value", ""))
    return found


def constraints_hold(constraints: Sequence[Sequence[str]], attributes: Mapping[str, str]) -> bool:
    for name, operator, value in constraints:
        have = attributes.get(name)
        if operator == "EQUALS" and have != value:
            return False
        if operator == "LIKE" and (have is None or not any(re.fullmatch(value, h) for h in have.split(","))):
            return False
        if operator == "UNLIKE" and have is not None and any(re.fullmatch(value, h) for h in have.split(",")):
            return False
    return True


def fit(job: Mapping[str, Any], remaining: Resources, role: str) -> Resources | None:
    """What ``job`` takes of ``remaining`` (reserved for ``role`` or unreserved), None if it does not fit."""
    wanted = job_resources(job)
    for candidate in (wanted, wanted.flatten(role)):
        if remaining.contains(candidate):
            return candidate
    return None


def task_info(task_id: str, job: Mapping[str, Any], arguments: Sequence[str], attempt: int,
              offer: Mapping[str, Any], use: Resources, framework_user: str) -> dict[str, Any]:
    variables = [{"name": "CHRONOS_JOB_NAME", "value": str(job["name"])},
                 {"name": "CHRONOS_JOB_OWNER", "value": str(job.get("owner", ""))},
                 {"name": "CHRONOS_JOB_RUN_ATTEMPT", "value": str(attempt)},
                 {"name": "mesos_task_id", "value": task_id},
                 *({"name": v["name"], "value": v["value"]} for v in job.get("environmentVariables") or [])]
    command: dict[str, Any] = {"environment": {"variables": variables},
                               "uris": [{"value": u} for u in job.get("uris") or []] + list(job.get("fetch") or [])}
    if job.get("shell", True):
        command.update(value=str(job["command"]), shell=True)
    else:
        command.update(value=str(job["command"]), shell=False,
                       arguments=[str(job["command"]), *job.get("arguments", []), *arguments])
    user = str(job.get("runAsUser") or "")
    if user and user != framework_user:
        command["user"] = user
    resources = use.to_dicts()
    allocation = offer.get("allocation_info")
    if allocation:
        for item in resources:
            item["allocation_info"] = dict(allocation)
    return {"name": f"ChronosTask:{job['name']}", "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": resources, "command": command}
