"""Running a ported pymesos program in a subprocess and watching what it does.

The programs are other people's code: they tell us nothing but their output
and what the cluster sees, so the tests poll those with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["HERE", "ROOT", "Program", "all_tasks", "tasks_in", "torn_down", "wait_until"]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, poll: float = 0.1) -> T:
    """The first truthy ``probe()`` within ``timeout`` seconds; AssertionError naming ``what`` if none."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def all_tasks(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task the master knows, live or completed, of every framework."""
    frameworks = state["frameworks"] + state["completed_frameworks"]
    return [t for fw in frameworks for t in fw["tasks"] + fw["completed_tasks"]]


def tasks_in(state: dict[str, Any], task_state: str) -> list[dict[str, Any]]:
    return [t for t in all_tasks(state) if t["state"] == task_state]


def torn_down(cluster: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The master's state once it has no active framework left (AssertionError after ``timeout``)."""
    def probe() -> dict[str, Any] | None:
        state: dict[str, Any] = cluster.state()
        return None if state["frameworks"] else state
    return wait_until(probe, timeout, "every framework to be torn down")


class Program:
    """A Python program in its own process; output goes to a file (a pipe could fill and block it)."""

    def __init__(self, argv: list[str], log_path: str, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        full_env = dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1", **(env or {}))
        self.proc = subprocess.Popen([sys.executable, *argv], stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=full_env, cwd=ROOT)

    def output(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_output(self, text: str, timeout: float) -> str:
        def probe() -> str:
            if self.proc.poll() is not None and text not in self.output():
                raise AssertionError(f"program exited ({self.proc.returncode}) without printing {text!r}:\n"
                                     + self.output()[-3000:])
            return self.output() if text in self.output() else ""
        return wait_until(probe, timeout, f"{text!r} in the program's output")

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"program still running after {timeout} s:\n" + self.output()[-3000:]) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
