"""The shell of a task's health checks: probes run for real, on a thread of their own, timed by the
pure checker (actors/executor/health.py).

A COMMAND probe runs its CommandInfo as a subprocess of the executor (so in
the task's cgroup), in the sandbox, with the task's environment (plus the
check command's own variables), as the task's user, in its own process group
(SIGKILLed whole at the timeout); exit 0 is healthy. An HTTP probe GETs
``scheme://127.0.0.1:port/path`` (no redirects followed, certificates not
verified, as Mesos' curl); 200-399 is healthy. A TCP probe connects to
``127.0.0.1:port``.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable

import structlog

from actors.agent.launcher import executor_argv
from actors.executor.health import HealthCheck, HealthChecker, HealthReport

__all__ = ["HealthMonitor", "probe"]

log = structlog.get_logger(__name__)


def _command(check: HealthCheck, env: dict[str, str], cwd: str | None,
             wrap: Callable[[list[str]], list[str]]) -> tuple[bool, str]:
    assert check.command is not None
    env = dict(env)
    for variable in (check.command.get("environment") or {}).get("variables") or []:
        env[str(variable.get("name"))] = str(variable.get("value", ""))
    try:
        proc = subprocess.Popen(wrap(executor_argv(check.command)), process_group=0, env=env, cwd=cwd,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, ValueError) as e:
        return False, f"cannot run the health check command: {e}"
    try:
        code = proc.wait(check.timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        return False, f"the health check command timed out after {check.timeout:g} s"
    return code == 0, f"the health check command exited with status {code}"


def _http(check: HealthCheck) -> tuple[bool, str]:
    if check.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection("127.0.0.1", check.port, timeout=check.timeout,
                                                                      context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", check.port, timeout=check.timeout)
    url = f"{check.scheme}://127.0.0.1:{check.port}{check.path}"
    try:
        conn.request("GET", check.path, headers={"User-Agent": "mesopy-health-check"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as e:
        return False, f"GET {url} failed: {e or type(e).__name__}"
    finally:
        conn.close()
    return 200 <= status < 400, f"GET {url} returned {status}"


def _tcp(check: HealthCheck) -> tuple[bool, str]:
    try:
        socket.create_connection(("127.0.0.1", check.port), timeout=check.timeout).close()
    except OSError as e:
        return False, f"cannot connect to 127.0.0.1:{check.port}: {e.strerror or e}"
    return True, f"connected to 127.0.0.1:{check.port}"


def probe(check: HealthCheck, env: dict[str, str], cwd: str | None = None,
          wrap: Callable[[list[str]], list[str]] = lambda argv: argv) -> tuple[bool, str]:
    """Run ``check`` once: (healthy, what happened)."""
    if check.type == "COMMAND":
        return _command(check, env, cwd, wrap)
    return _http(check) if check.type == "HTTP" else _tcp(check)


class HealthMonitor:
    """Probes on a daemon thread from ``start()`` until ``stop()``; ``report(HealthReport)`` on that thread."""

    def __init__(self, check: HealthCheck, report: Callable[[HealthReport], None], *, env: dict[str, str],
                 cwd: str | None, wrap: Callable[[list[str]], list[str]] = lambda argv: argv,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.check = check
        self._report = report
        self._env, self._cwd, self._wrap = env, cwd, wrap
        self._clock = clock
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HealthMonitor:
        checker = HealthChecker(self.check, self._clock())
        self._thread = threading.Thread(target=self._run, args=(checker,), name="health-check", daemon=True)
        self._thread.start()
        log.info("health_check_started", type=self.check.type, delay=self.check.delay, interval=self.check.interval)
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self, checker: HealthChecker) -> None:
        while not self._stopped.wait(max(0.0, checker.next_probe - self._clock())):
            ok, message = probe(self.check, self._env, self._cwd, self._wrap)
            if self._stopped.is_set():
                return
            report = checker.result(ok, self._clock(), message)
            (log.debug if ok else log.info)("health_check_result", healthy=ok, message=message,
                                            failures=checker.failures)
            if report is not None:
                self._report(report)
                if report.kill:
                    return  # the task is being killed: no more probes
