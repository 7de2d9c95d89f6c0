"""What the v1 HTTP APIs' pure modules share (actors/master/scheduler_api.py,
actors/agent/executor_api.py, the operator APIs): the call error, decoding a
call's JSON, the HEARTBEAT event, and the pids of clients served in-process.

An HTTP client served in-process (a scheduler on the master, an executor on
the agent) has the pid text ``http-<role>-<stream id>@<client host:port>``: it
names a connection on the HTTP port, never a ZeroMQ peer (no ZeroMQ process
name starts with ``http-``), so the actor delivers what it sends there through
its table of local peers and never links to it over ZeroMQ. It parses as a PID.
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["HEARTBEAT", "HTTP_PID_PREFIX", "CallError", "call_registrar", "http_pid", "is_http_pid",
           "parse_json_call"]

F = TypeVar("F")

HTTP_PID_PREFIX = "http-"
HEARTBEAT: dict[str, Any] = {"type": "HEARTBEAT"}


class CallError(Exception):
    """A call refused before it reaches the actor: Mesos' HTTP ``status`` (400, 403...) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_json_call(body: bytes) -> tuple[dict[str, Any], str]:
    """(the call object, its ``type``); CallError 400 for anything but a JSON object with a type."""
    try:
        call = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise CallError(400, f"Failed to parse body into JSON: {e}") from None
    if not isinstance(call, dict):
        raise CallError(400, f"Failed to parse body into Call: expected a JSON object, got {type(call).__name__}")
    kind = call.get("type")
    if not isinstance(kind, str) or not kind:
        raise CallError(400, "Expecting 'type' to be present")
    return call, kind


def call_registrar(table: dict[str, F]) -> Callable[[str], Callable[[F], F]]:
    """A decorator factory adding functions to the call ``table``: ``@call("NAME")``."""
    def call(name: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            table[name] = fn
            return fn
        return register
    return call


def http_pid(role: str, stream_id: str, peer: str) -> str:
    """The pid text of an HTTP ``role`` ("scheduler", "executor") on stream ``stream_id`` from ``peer``."""
    return f"{HTTP_PID_PREFIX}{role}-{stream_id}@{peer or '0.0.0.0:1'}"


def is_http_pid(pid: str) -> bool:
    return pid.startswith(HTTP_PID_PREFIX)
