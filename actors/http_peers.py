"""The pid texts of v1 HTTP API clients served in-process (schedulers on the master, executors
on the agent): ``http-<role>-<stream id>@<client host:port>``.

Pure. Such a pid names a connection on the HTTP port, never a ZeroMQ peer (no
ZeroMQ process name starts with ``http-``): the actor delivers messages to it
through its table of local peers and never links to it over ZeroMQ. It parses
as a PID (``transport.pid.PID.parse``), so it travels where a pid does.
"""

from __future__ import annotations

__all__ = ["HTTP_PID_PREFIX", "http_pid", "is_http_pid"]

HTTP_PID_PREFIX = "http-"


def http_pid(role: str, stream_id: str, peer: str) -> str:
    """The pid text of an HTTP ``role`` ("scheduler", "executor") on stream ``stream_id`` from ``peer``."""
    return f"{HTTP_PID_PREFIX}{role}-{stream_id}@{peer or '0.0.0.0:1'}"


def is_http_pid(pid: str) -> bool:
    return pid.startswith(HTTP_PID_PREFIX)
