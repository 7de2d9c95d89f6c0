"""A master and an agent as OS processes with their HTTP endpoints, and tasks
that run until the test lets them end (for tests/integration/test_http*.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from tests.integration.operators_support import ROOT, Script, free_port, kill_executors_under, start_or_close

__all__ = ["HttpCluster", "fetch", "get_json", "wait_until"]

T = TypeVar("T")


def fetch(url: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str) -> Any:
    status, _, body = fetch(url)
    assert status == 200, f"GET {url}: {status} {body[:300]!r}"
    return json.loads(body)


def wait_until(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Call ``probe`` (with a growing pause) until it returns something truthy."""
    pause = threading.Event()
    step, waited = 0.02, 0.0
    while True:
        value = probe()
        if value:
            return value
        if waited >= timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        pause.wait(step)
        waited += step
        step = min(step * 2, 0.25)


class HttpCluster:
    """mesopy-master and one mesopy-agent, each with --http_port=0; ``run_task`` starts
    mesopy-execute with a task that prints ``started``, then waits for its go file.
    ``master_flags`` are added to the master's command line."""

    def __init__(self, work_dir: str, *master_flags: str) -> None:
        self.work_dir = work_dir
        self.scripts: list[Script] = []
        self.runs: list[subprocess.Popen[str]] = []
        self.go_files: list[str] = []
        start_or_close(lambda: self._boot(master_flags), self.close)

    def _boot(self, master_flags: tuple[str, ...]) -> None:
        port = free_port()
        self.master = f"127.0.0.1:{port}"
        master = self._start("mesopy-master", f"--port={port}", "--http_port=0", "--allocation_interval=0.1",
                             *master_flags)
        self.http = master.wait_for("http_ready")["url"].rstrip("/")
        agent = self._start("mesopy-agent", f"--master={self.master}", "--port=0", "--http_port=0",
                            f"--work_dir={self.work_dir}/agent",
                            "--resources=cpus:2;mem:1024;disk:512;ports:[31000-32000]")
        self.agent_http = agent.wait_for("http_ready")["url"].rstrip("/")
        wait_until(lambda: get_json(self.http + "/metrics/snapshot")["master/slaves_active"] == 1, "agent registered")

    def _start(self, name: str, *args: str) -> Script:
        script = Script(name, *args)
        self.scripts.append(script)
        return script

    def run_task(self, name: str, instances: int = 1, lines: int = 1) -> str:
        """Start tasks named ``name-*`` that print ``started`` (then ``line-2``.. ``line-<lines>``) and
        end printing ``done`` once the returned go file exists."""
        go = os.path.join(self.work_dir, f"go-{name}")
        command = "echo started; " + "".join(f"echo line-{i}; " for i in range(2, lines + 1))
        command += f"while [ ! -e {go} ]; do sleep 0.05; done; echo done"
        self.go_files.append(go)
        self.runs.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bin", "mesopy-execute"), f"--master={self.master}", f"--name={name}",
             f"--command={command}", f"--instances={instances}", "--resources=cpus:0.1;mem:32", "--timeout=60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, text=True))
        return go

    def close(self) -> None:
        for run in self.runs:
            if run.poll() is None:
                run.kill()
            run.wait()
        for script in self.scripts:
            script.kill()
        kill_executors_under(self.work_dir)
        for go in self.go_files:  # a task whose executor was killed above is in its own group: it ends
            open(go, "a").close()
