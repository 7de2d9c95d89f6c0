"""Two mesopy-chronos instances with --zk on a real ZooKeeper: one leads, the other forwards the
API to it; kill -9 of the leader and the other takes over the framework and the jobs."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.ha import ZooKeeperServer
from tests.integration.operators_support import Script, free_port, kill_executors_under

pytestmark = pytest.mark.integration


def call(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            raw = reply.read()
            return reply.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def scripts(tmp_path: Path) -> Iterator[list[Script]]:
    started: list[Script] = []
    yield started
    for script in started:
        script.kill()
    kill_executors_under(str(tmp_path))


def test_one_leader_the_other_forwards_and_takes_over_after_kill_9(scripts: list[Script], tmp_path: Path) -> None:
    with ZooKeeperServer() as zk:
        port = free_port()
        master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
        scripts.append(master)
        master.wait_for("master_started")
        agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                       "--resources=cpus:2;mem:1024;disk:1024", "--registration_backoff_factor=0.05")
        scripts.append(agent)
        agent.wait_for("agent_registered")
        http_ports = [free_port(), free_port()]

        def instance(http_port: int) -> Script:
            script = Script("mesopy-chronos", f"--master=127.0.0.1:{port}", f"--zk={zk.url('/chronos')}", "--zk_timeout=3000",
                            "--http_address=127.0.0.1", f"--http_port={http_port}", "--mesos_task_disk=0")
            scripts.append(script)
            script.wait_for("http_ready")
            return script

        first = instance(http_ports[0])
        framework_id = first.wait_for("chronos_registered")["framework_id"]
        second = instance(http_ports[1])
        assert call(http_ports[1], "GET", "/leader") == (200, {"leader": f"127.0.0.1:{http_ports[0]}"})
        out = tmp_path / "out"
        job = {"name": "ha", "command": f"echo ran >> {out}", "schedule": "R/2030-01-01T00:00:00Z/P1D"}
        assert call(http_ports[1], "POST", "/v1/scheduler/iso8601", job)[0] == 204  # forwarded to the leader
        assert [j["name"] for j in call(http_ports[0], "GET", "/scheduler/jobs")[1]] == ["ha"]
        first.proc.send_signal(signal.SIGKILL)
        first.kill()
        second.wait_for("chronos_registered", timeout=30, framework_id=framework_id)  # once the old session expired
        loaded = [json.loads(line) for line in second.lines if '"chronos_state_loaded"' in line]
        assert [e["jobs"] for e in loaded] == [1]
        assert call(http_ports[1], "PUT", "/scheduler/job/ha")[0] == 204
        second.wait_for("chronos_task_status", job="ha", state="TASK_FINISHED")
        assert out.read_text() == "ran\n"
