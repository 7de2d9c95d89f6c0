"""A master, agents with their own host names, and mesopy-marathon, as OS processes
(tests/integration/test_marathon*.py); ``call`` speaks Marathon's REST API."""

from __future__ import annotations

import json
import os
import random
import signal
import urllib.error
import urllib.request
from typing import Any

from tests.integration.containment_support import pids_with_env
from tests.integration.http_support import get_json, wait_until
from tests.integration.operators_support import Script, free_port, kill_executors_under, start_or_close

__all__ = ["MarathonCluster", "kill_task_processes"]


def kill_task_processes(task_id: str) -> int:
    """SIGKILL the processes of one task (found by the MESOS_TASK_ID Marathon gives it)."""
    killed = 0
    for pid in pids_with_env(f"MESOS_TASK_ID={task_id}"):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
    return killed


class MarathonCluster:
    """mesopy-master, ``agents`` mesopy-agents named host-0.. (each with its own port range),
    and mesopy-marathon on a free port with its state under ``work_dir``."""

    def __init__(self, work_dir: str, agents: int = 3, *marathon_flags: str) -> None:
        self.work_dir = work_dir
        self.marathon_flags = marathon_flags
        self.scripts: list[Script] = []
        start_or_close(lambda: self._boot(agents), self.close)

    def _boot(self, agents: int) -> None:
        port = free_port()
        self.master = f"127.0.0.1:{port}"
        master = self._start("mesopy-master", f"--port={port}", "--http_port=0", "--allocation_interval=0.1",
                             "--agent_ping_timeout=0.5", "--max_agent_ping_timeouts=3")
        self.master_http = master.wait_for("http_ready")["url"].rstrip("/")
        base = random.randrange(20000, 29000, 100)  # per-agent ranges: tasks of agents on one machine never clash
        self.agents: list[Script] = []
        for i in range(agents):
            self.agents.append(self._start(
                "mesopy-agent", f"--master={self.master}", "--port=0", "--http_port=0", f"--hostname=host-{i}",
                f"--work_dir={self.work_dir}/agent-{i}",
                f"--resources=cpus:2;mem:1024;disk:512;ports:[{base + 10 * i}-{base + 10 * i + 9}]"))
        wait_until(lambda: get_json(self.master_http + "/metrics/snapshot")["master/slaves_active"] == agents,
                   "agents registered")
        self.marathon: Script | None = None
        self.http_port = 0
        self.url = ""
        self.start_marathon()

    def _start(self, name: str, *args: str) -> Script:
        script = Script(name, *args)
        self.scripts.append(script)
        return script

    def start_marathon(self, leader: bool = True) -> str:
        """A mesopy-marathon on a port it picks (no free-port race); its URL. With ``leader`` it is made
        ``self.marathon`` (``url``, ``http_port``) and awaited until registered, else until it serves."""
        script = self._start("mesopy-marathon", f"--master={self.master}", "--http_port=0",
                             "--http_address=127.0.0.1", "--hostname=127.0.0.1",
                             f"--state_dir={self.work_dir}/marathon-state", *self.marathon_flags)
        url = str(script.wait_for("marathon_ready", timeout=20)["url"]).rstrip("/")
        if leader:
            script.wait_for("marathon_registered", timeout=20)
            self.marathon, self.url, self.http_port = script, url, int(url.rsplit(":", 1)[1])
        return url

    def kill_agent(self, i: int) -> None:
        """kill -9 agent ``i`` and everything it ran (the host is gone)."""
        self.agents[i].kill()
        kill_executors_under(f"{self.work_dir}/agent-{i}")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw, status = response.read(), response.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, json.loads(raw) if raw else None

    def app(self, app_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/v2/apps{app_id}")
        assert status == 200, body
        return dict(body["app"])

    def wait_app(self, app_id: str, what: str, timeout: float = 30.0, **counts: int) -> dict[str, Any]:
        """Wait until the app's counts (tasksRunning=3, ...) hold and no deployment is left."""
        def probe() -> dict[str, Any] | None:
            app = self.app(app_id)
            ok = all(app[k] == v for k, v in counts.items()) and not app["deployments"]
            return app if ok else None
        return wait_until(probe, f"{app_id}: {what}", timeout)

    def close(self) -> None:
        for script in self.scripts:
            script.kill()
        kill_executors_under(self.work_dir)
