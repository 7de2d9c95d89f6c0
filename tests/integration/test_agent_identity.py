"""Agent identity and liveness with real OS processes: agents restarted on one port.

An agent that restarts without recovering is a new agent (Mesos): it gets a new
id with its new resources and attributes, and the one registered there before is
removed. Every incarnation on the port is watched on its own: each SIGKILL is
noticed (agent_disconnected) at once, not only the first.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.integration.operators_support import Script, StateClient, free_port

pytestmark = pytest.mark.integration


def _master(scripts: list[Script]) -> tuple[Script, str]:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    address = f"127.0.0.1:{port}"
    master.wait_for("master_started", address=address)
    return master, address


def _agent(scripts: list[Script], master: str, port: int, work_dir: Any, resources: str, attributes: str = "") -> Script:
    agent = Script("mesopy-agent", f"--master={master}", f"--port={port}", f"--work_dir={work_dir}",
                   f"--resources={resources}", f"--attributes={attributes}", "--registration_backoff_factor=0.05")
    scripts.append(agent)
    return agent


def test_an_agent_restarted_with_other_resources_and_attributes_is_a_new_agent(scripts: list[Script],
                                                                               tmp_path: Any) -> None:
    master, address = _master(scripts)
    port = free_port()
    first = _agent(scripts, address, port, tmp_path / "a1", "cpus:1;mem:256;disk:64", "rack:a")
    old_id = master.wait_for("agent_registered")["agent_id"]
    assert first.terminate() == 0
    _agent(scripts, address, port, tmp_path / "a2", "cpus:2;mem:512;disk:64", "rack:b")
    # The old agent is removed: replaced by the new registration, or, on a slow machine, already
    # seen gone (its exit noticed) before the new agent registered. Either way it is not reused.
    master.wait_for("agent_removed", agent_id=old_id)
    new_id = master.wait_for("agent_registered")["agent_id"]
    assert new_id != old_id
    client = StateClient(address)
    try:
        state = client.wait_until(lambda s: [a["id"] for a in s["slaves"]] == [new_id])
    finally:
        client.close()
    [agent] = state["slaves"]
    assert agent["active"] and agent["resources"]["cpus"] == 2 and agent["resources"]["mem"] == 512
    assert agent["attributes"] == {"rack": "b"}


def test_every_sigkilled_incarnation_on_one_port_is_noticed(scripts: list[Script], tmp_path: Any) -> None:
    master, address = _master(scripts)
    port = free_port()
    seen: list[str] = []
    for n in range(4):
        agent = _agent(scripts, address, port, tmp_path / f"a{n}", "cpus:1;mem:256;disk:64")
        if seen:  # its predecessor is removed when it registers in its place
            master.wait_for("agent_removed", agent_id=seen[-1])
        agent_id = master.wait_for("agent_registered")["agent_id"]
        assert agent_id not in seen
        seen.append(agent_id)
        agent.wait_for("agent_registered", agent_id=agent_id)
        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(5)
        # Within the runtime's heartbeat timeout (3 s), far below the ping removal (75 s).
        master.wait_for("agent_disconnected", agent_id=agent_id, timeout=10.0)
    assert not any("Traceback" in line for line in master.lines)
