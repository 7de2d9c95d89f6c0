"""Masters with --zk as real OS processes: a standby redirects, a leader cut off
from ZooKeeper exits, followers given a standby's address or zk:// find the leader."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest

from actors.node import Node
from frameworks.testing import ZooKeeperServer
from tests.integration.operators_support import Script, free_port, run_script

pytestmark = pytest.mark.integration


@pytest.fixture
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


def _master(scripts: list[Script], *flags: str) -> tuple[str, Script]:
    port = free_port()
    script = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1", *flags)
    scripts.append(script)
    script.wait_for("master_started")
    return f"127.0.0.1:{port}", script


class Registrations:
    def __init__(self) -> None:
        self.masters: queue.Queue[dict[str, Any]] = queue.Queue()

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.masters.put(dict(master_info))

    def resourceOffers(self, driver: Any, offers: Any) -> None:
        pass


def test_a_standby_redirects_and_the_framework_and_agent_find_the_leader(
        zk: ZooKeeperServer, scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    leader, first = _master(scripts, f"--zk={zk.url()}")
    first.wait_for("master_elected")
    standby, second = _master(scripts, f"--zk={zk.url()}")
    agent = Script("mesopy-agent", f"--master={standby}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:1;mem:256;disk:256", "--registration_backoff_factor=0.05")
    scripts.append(agent)
    assert agent.wait_for("registration_redirected", leader=f"master@{leader}")
    assert agent.wait_for("agent_registered", master=f"master@{leader}")
    second.wait_for("registration_redirected", type="RegisterAgent", leader=f"master@{leader}")

    scheduler = Registrations()
    node = Node().start()
    driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "redirected"}, standby, node=node)
    driver.start()
    try:
        info = scheduler.masters.get(timeout=15)
        assert info["pid"] == f"master@{leader}"
        second.wait_for("registration_redirected", type="RegisterFramework", leader=f"master@{leader}")
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
    assert second.proc.poll() is None and not any("master_elected" in line for line in second.lines)


def test_a_leader_cut_off_from_zookeeper_exits_non_zero(zk: ZooKeeperServer, scripts: list[Script]) -> None:
    _, master = _master(scripts, f"--zk={zk.url()}", "--zk_session_timeout=1secs")
    master.wait_for("master_elected")
    zk.stop_server(0)
    assert master.proc.wait(20) == 1
    master.kill()  # joins the reader: every line is in
    assert any("not leading any more" in line for line in master.lines)
    assert master.wait_for("master_leadership_lost", timeout=1)


def test_mesopy_execute_follows_the_leader_through_zookeeper(
        zk: ZooKeeperServer, scripts: list[Script], tmp_path: Any) -> None:
    _, master = _master(scripts, f"--zk={zk.url()}")
    master.wait_for("master_elected")
    agent = Script("mesopy-agent", f"--master={zk.url()}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:1;mem:256;disk:256")
    scripts.append(agent)
    agent.wait_for("agent_registered", timeout=20)
    done = run_script("mesopy-execute", f"--master={zk.url()}", "--name=hello", "--command=echo hello",
                      "--timeout=30", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1/1 instance(s) finished" in done.stdout + done.stderr


@pytest.mark.parametrize("flag, fragment", [
    ("--zk=zk://127.0.0.1:2181", "needs a path"),
    ("--zk=127.0.0.1:2181/mesos", "must start with zk://"),
    ("--zk_session_timeout=0", "--zk_session_timeout"),
    ("--registry=replicated_log", "--registry"),
])
def test_bad_zk_flags_are_one_line_and_exit_2(flag: str, fragment: str) -> None:
    done = run_script("mesopy-master", flag, "--port=0", timeout=30)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]


def test_bad_zk_master_of_agent_and_execute_exit_2() -> None:
    for script in ("mesopy-agent", "mesopy-execute"):
        args = ["--master=zk://127.0.0.1:2181"] + (["--command=true"] if script == "mesopy-execute" else [])
        done = run_script(script, *args, timeout=30)
        assert done.returncode == 2, (script, done.stderr)
        assert "needs a path" in done.stderr


