"""Two mesopy-chronos instances with --zk on a real ZooKeeper: one leads, the other forwards the
API to it; kill -9 of the leader and the other takes over the framework and the jobs."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from actors.ha import ZooKeeperServer
from tests.integration.chronos_support import call, start_master_and_agent
from tests.integration.operators_support import Script

pytestmark = pytest.mark.integration


def test_one_leader_the_other_forwards_and_takes_over_after_kill_9(scripts: list[Script], tmp_path: Path) -> None:
    with ZooKeeperServer() as zk:
        master = start_master_and_agent(scripts, tmp_path / "agent")
        http_ports: list[int] = []

        def instance() -> Script:
            """One more mesopy-chronos on a port it picks (no free-port race), serving."""
            script = Script("mesopy-chronos", f"--master={master}", f"--zk={zk.url('/chronos')}", "--zk_timeout=3000",
                            "--http_address=127.0.0.1", "--http_port=0", "--mesos_task_disk=0")
            scripts.append(script)
            http_ports.append(int(str(script.wait_for("http_ready")["url"]).rstrip("/").rsplit(":", 1)[1]))
            return script

        first = instance()
        framework_id = first.wait_for("chronos_registered")["framework_id"]
        second = instance()
        assert call(f"http://127.0.0.1:{http_ports[1]}", "GET", "/leader") == (200, {"leader": f"127.0.0.1:{http_ports[0]}"})
        out = tmp_path / "out"
        job = {"name": "ha", "command": f"echo ran >> {out}", "schedule": "R/2030-01-01T00:00:00Z/P1D"}
        assert call(f"http://127.0.0.1:{http_ports[1]}", "POST", "/v1/scheduler/iso8601", job)[0] == 204  # forwarded to the leader
        assert [j["name"] for j in call(f"http://127.0.0.1:{http_ports[0]}", "GET", "/scheduler/jobs")[1]] == ["ha"]
        first.proc.send_signal(signal.SIGKILL)
        first.kill()
        second.wait_for("chronos_registered", timeout=30, framework_id=framework_id)  # once the old session expired
        loaded = [json.loads(line) for line in second.lines if '"chronos_state_loaded"' in line]
        assert [e["jobs"] for e in loaded] == [1]
        assert call(f"http://127.0.0.1:{http_ports[1]}", "PUT", "/scheduler/job/ha")[0] == 204
        second.wait_for("chronos_task_status", job="ha", state="TASK_FINISHED")
        assert out.read_text() == "ran\n"
