"""Mesos' health check rules (actors/executor/health.py) with a manual clock, the master's
validation of TaskInfo.health_check, and the probes against real local servers."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.executor.health import HealthChecker, HealthReport, parse_health_check
from actors.executor.probes import probe
from actors.master.validation import TaskInvalid, validate_task


def _check(**fields: Any) -> dict[str, Any]:
    return {"type": "TCP", "tcp": {"port": 8080}, **fields}


def test_defaults_are_mesos() -> None:
    check = parse_health_check({"type": "HTTP", "http": {"port": 31000}})
    assert (check.delay, check.interval, check.timeout, check.consecutive_failures, check.grace_period) == \
        (15.0, 10.0, 20.0, 3, 10.0)
    assert (check.path, check.scheme) == ("/", "http")


@pytest.mark.parametrize("check, field", [
    ({"type": "PING"}, "health_check.type"),
    ({"tcp": {"port": 1}}, "health_check.type"),
    ({"type": "TCP"}, "health_check.tcp"),
    ({"type": "TCP", "tcp": {"port": 0}}, "health_check.tcp.port"),
    ({"type": "HTTP", "http": {"port": 70000}}, "health_check.http.port"),
    ({"type": "HTTP", "http": {"port": "80"}}, "health_check.http.port"),
    ({"type": "HTTP", "http": {"port": 80, "path": "health"}}, "health_check.http.path"),
    ({"type": "HTTP", "http": {"port": 80, "scheme": "ftp"}}, "health_check.http.scheme"),
    ({"type": "COMMAND"}, "health_check.command"),
    ({"type": "COMMAND", "command": {"shell": True}}, "health_check.command.value"),
    (_check(interval_seconds=-1), "health_check.interval_seconds"),
    (_check(timeout_seconds=0), "health_check.timeout_seconds"),
    (_check(consecutive_failures=1.5), "health_check.consecutive_failures"),
    ("TCP", "health_check must be an object"),
])
def test_bad_checks_name_the_field(check: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        parse_health_check(check)


def test_the_master_refuses_a_task_with_a_bad_check_naming_the_field() -> None:
    task = {"task_id": {"value": "t1"}, "command": {"value": "true"},
            "health_check": {"type": "TCP", "tcp": {"port": -1}},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}]}
    with pytest.raises(TaskInvalid, match=r"Task t1: invalid health check: health_check\.tcp\.port .* -1"):
        validate_task(task, "a1", set())
    task["health_check"] = {"type": "TCP", "tcp": {"port": 31000}}
    assert validate_task(task, "a1", set())[0] == "t1"


def test_first_probe_after_the_delay_and_then_every_interval() -> None:
    checker = HealthChecker(parse_health_check(_check(delay_seconds=5, interval_seconds=2)), started=100.0)
    assert not checker.due(104.9) and checker.due(105.0)
    assert checker.result(True, 105.5) == HealthReport(True, False, 0)  # the first success is reported
    assert not checker.due(107.4) and checker.due(107.5)
    assert checker.result(True, 107.5) is None  # still healthy: nothing to say


def test_failures_in_the_grace_period_are_ignored_until_the_first_success() -> None:
    checker = HealthChecker(parse_health_check(_check(delay_seconds=0, grace_period_seconds=10,
                                                      consecutive_failures=2)), started=0.0)
    assert checker.result(False, 1.0) is None and checker.result(False, 9.9) is None
    assert checker.failures == 0
    assert checker.result(False, 10.5) == HealthReport(False, False, 1)  # past the grace period
    assert checker.result(True, 11.0) == HealthReport(True, False, 0)
    late = HealthChecker(parse_health_check(_check(delay_seconds=0, grace_period_seconds=100)), started=0.0)
    assert late.result(True, 1.0) is not None
    assert late.result(False, 2.0) == HealthReport(False, False, 1)  # after a success the grace is over


def test_every_failure_is_reported_and_the_limit_kills() -> None:
    checker = HealthChecker(parse_health_check(_check(grace_period_seconds=0, consecutive_failures=3)), started=0.0)
    assert checker.result(True, 15.0) == HealthReport(True, False, 0)
    assert checker.result(False, 25.0, "down") == HealthReport(False, False, 1, "down")
    assert checker.result(False, 35.0) == HealthReport(False, False, 2)
    assert checker.result(True, 45.0) == HealthReport(True, False, 0)  # healthy again: the count restarts
    assert [checker.result(False, t) for t in (55.0, 65.0, 75.0)] == [
        HealthReport(False, False, 1), HealthReport(False, False, 2), HealthReport(False, True, 3)]
    never = HealthChecker(parse_health_check(_check(grace_period_seconds=0, consecutive_failures=0)), started=0.0)
    assert not any(r is not None and r.kill for r in (never.result(False, float(t)) for t in range(20, 40)))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = {"/ok": 200, "/moved": 302, "/bad": 500}.get(self.path, 404)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_probes_against_real_servers_and_commands(server: int, tmp_path: Any) -> None:
    def http_check(path: str) -> tuple[bool, str]:
        return probe(parse_health_check({"type": "HTTP", "http": {"port": server, "path": path}, "timeout_seconds": 2}),
                     {})

    assert http_check("/ok")[0] and http_check("/moved")[0]
    ok, message = http_check("/bad")
    assert not ok and message == f"GET http://127.0.0.1:{server}/bad returned 500"
    assert probe(parse_health_check({"type": "TCP", "tcp": {"port": server}}), {})[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ok, message = probe(parse_health_check({"type": "TCP", "tcp": {"port": closed}, "timeout_seconds": 1}), {})
    assert not ok and f"127.0.0.1:{closed}" in message
    (tmp_path / "marker").write_text("x")
    command = {"type": "COMMAND", "command": {"value": "test -f marker && test \"$WHO\" = task && test \"$OWN\" = 1",
                                              "environment": {"variables": [{"name": "OWN", "value": "1"}]}}}
    assert probe(parse_health_check(command), {"WHO": "task", "PATH": "/usr/bin:/bin"}, str(tmp_path))[0]
    assert probe(parse_health_check(command), {"WHO": "other", "PATH": "/usr/bin:/bin"}, str(tmp_path)) == (
        False, "the health check command exited with status 1")
    slow = {"type": "COMMAND", "command": {"value": "sleep 30"}, "timeout_seconds": 0.3}
    assert probe(parse_health_check(slow), {"PATH": "/usr/bin:/bin"}) == (
        False, "the health check command timed out after 0.3 s")
