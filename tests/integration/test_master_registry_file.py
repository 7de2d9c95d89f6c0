"""``--registry=replicated_log`` without ZooKeeper: the registry in the master's --work_dir outlives a
kill -9, so the restarted master waits for the agents it had admitted: reconciliation says nothing
about a task on one that has not re-registered, which is marked unreachable after
--agent_reregister_timeout (not before)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from actors.master.registry import Registry
from actors.master.registry_file import FileRegistryStore
from actors.node import Node
from tests.integration.operators_support import Script, free_port
from tests.integration.test_ha_registry import REREGISTER, OnePerAgent, kill_agent, silent_then_lost, start_agents

pytestmark = pytest.mark.integration


def test_the_file_registry_is_replaced_whole_or_not_at_all(tmp_path: Any) -> None:
    store = FileRegistryStore(str(tmp_path / "master"))
    assert store.read() is None
    results: list[str] = []
    store.write(Registry().encode(), results.append)
    store.write(b"second", results.append)
    assert results == ["", ""] and store.read() == b"second"
    assert sorted(os.listdir(tmp_path / "master")) == ["registry"]  # no temporary file left
    (tmp_path / "a-file").write_text("not a directory")
    FileRegistryStore(str(tmp_path / "a-file")).write(b"third", results.append)
    assert results[2].startswith(f"cannot write {tmp_path / 'a-file' / 'registry'}")


def test_a_restarted_master_waits_for_the_agents_its_registry_admitted(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    flags = (f"--port={port}", "--allocation_interval=0.1", "--registry=replicated_log",
             f"--work_dir={tmp_path / 'master'}", f"--agent_reregister_timeout={REREGISTER}secs")
    master = Script("mesopy-master", *flags)
    scripts.append(master)
    master.wait_for("master_started", address=address)
    agents = start_agents(scripts, address, tmp_path, 2)
    kept, gone = (agent.wait_for("agent_registered", reregistered=False, timeout=20)["agent_id"] for agent in agents)
    scheduler = OnePerAgent(2)
    node = Node().start()
    driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "file-registry", "checkpoint": True,
                                              "failover_timeout": 600.0}, address, node=node)
    driver.start()
    try:
        scheduler.wait_running(2)
        kill_agent(agents[1], str(tmp_path / "agent1"))  # for good
        master.proc.send_signal(signal.SIGKILL)
        master.proc.wait(5)
        # The agent must see the old master gone before the new one answers on the same port.
        agents[0].wait_for("master_disconnected", timeout=10.0)
        master = Script("mesopy-master", *flags)
        scripts.append(master)
        recovered = master.wait_for("registry_recovered", timeout=15)
        assert recovered["admitted"] == 2
        agents[0].wait_for("agent_registered", reregistered=True, timeout=15)
        scheduler.wait(lambda: scheduler.reregistrations >= 1, "the framework's re-registration")
        silent_then_lost(scheduler, driver, master, kept, gone, since=recovered)
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
