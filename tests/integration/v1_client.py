"""A raw HTTP client of Mesos' v1 APIs for tests: a call, and a subscription's event stream.

Built on the standard library (http.client) and our RecordIO decoder, so a
test sees exactly the status codes, headers and records the master sends.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any

from transport.recordio import Decoder
from transport.tls import client_context

__all__ = ["JSON_HEADERS", "Subscription", "connection", "post", "task_info"]

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _split(base: str) -> tuple[str, int]:
    host, _, port = base.split("//", 1)[-1].rstrip("/").rpartition(":")
    return host, int(port)


def connection(base: str, timeout: float) -> http.client.HTTPConnection:
    """To an http:// or https:// ``base``; TLS checked against LIBPROCESS_SSL_CA_FILE if set."""
    host, port = _split(base)
    if base.startswith("https:"):
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=client_context())
    return http.client.HTTPConnection(host, port, timeout=timeout)


def post(base: str, body: Any, headers: dict[str, str] | None = None, path: str = "/api/v1/scheduler",
         method: str = "POST", timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; ``body`` as JSON unless it is bytes."""
    conn = connection(base, timeout)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=JSON_HEADERS if headers is None else headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def task_info(name: str, agent_id: dict[str, str], command: str) -> dict[str, Any]:
    return {"name": name, "task_id": {"value": name}, "agent_id": agent_id,
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
            "command": {"value": command, "shell": True}}


class Subscription:
    """A SUBSCRIBE and its stream: ``status``, ``stream_id``, ``next(type)``; ``call(...)`` on it."""

    def __init__(self, base: str, call: dict[str, Any], path: str = "/api/v1/scheduler",
                 headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.path = path
        self.conn = connection(base, 30)
        self.conn.request("POST", path, body=json.dumps(call).encode(), headers=headers or JSON_HEADERS)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self.stream_id = self.headers.get("mesos-stream-id", "")
        self.decoder = Decoder()
        self.events: list[dict[str, Any]] = []  # every event read so far, in order
        self._unread: list[dict[str, Any]] = []
        self.framework_id: dict[str, str] | None = None

    def next(self, kind: str | None = None, timeout: float = 20.0, skip_heartbeats: bool = True) -> dict[str, Any]:
        """The next event (of type ``kind``: others are passed over); AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            while self._unread:
                event = self._unread.pop(0)
                if event["type"] == "SUBSCRIBED" and "framework_id" in event["subscribed"]:
                    self.framework_id = event["subscribed"]["framework_id"]
                if (kind is None and not (skip_heartbeats and event["type"] == "HEARTBEAT")) or event["type"] == kind:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s; seen {[e['type'] for e in self.events]}")
            sock = self.conn.sock
            if sock is not None:
                sock.settimeout(left)
            try:
                chunk = self.response.read1(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError(f"the stream ended before a {kind or 'event'}; seen "
                                     f"{[e['type'] for e in self.events]}")
            for record in self.decoder.feed(chunk):
                event = json.loads(record)
                self.events.append(event)
                self._unread.append(event)

    def call(self, call: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """POST ``call`` (with our framework id and stream id unless given); (status, body)."""
        if self.framework_id is not None:
            call.setdefault("framework_id", self.framework_id)
        status, _, body = post(self.base, call, headers or {**JSON_HEADERS, "Mesos-Stream-Id": self.stream_id},
                               path=self.path)
        return status, body

    def wait_closed(self, timeout: float = 10.0) -> None:
        """Read to the end of the stream (the master ended it); AssertionError if it does not end."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.next(timeout=deadline - time.monotonic(), skip_heartbeats=False)
            except AssertionError as e:
                if "the stream ended" in str(e):
                    return
                raise
        raise AssertionError(f"the stream did not end within {timeout} s")

    def close(self) -> None:
        self.conn.close()
