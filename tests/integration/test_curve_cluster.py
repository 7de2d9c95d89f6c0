"""A whole secured cluster of real processes: mesopy-master with its key files and
authentication on, mesopy-agent with --encrypt, the master's public key and its credential,
and mesopy-execute with the key and a principal runs a task (its executor, another process, on an encrypted link to the agent). Whatever
comes without the master's key (a raw ZeroMQ socket, plain or with a wrong key) gets nothing
in: no handshake, nothing in the master's state. With ZooKeeper, the elected master's key
comes from the election; and an encrypted agent's executors reconnect after a kill -9."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth

from actors.node import Node
from tests.integration.operators_support import Script, free_port, kill_executors_under, run_script
from transport.codec import encode_envelope, join_frame
from transport.messages import RegisterFramework
from transport.pid import PID

pytestmark = pytest.mark.integration


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _raw_register(address: str, curve: tuple[bytes, bytes, bytes] | None) -> None:
    """A RegisterFramework from a raw DEALER (plain, or CURVE with the keys given), sent and
    flushed: the socket lingers until its bytes are out, or the handshake is refused."""
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 1000)
    if curve is not None:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve
    me, master = PID("scheduler(raw)", "127.0.0.1", free_port()), PID.parse(f"master@{address}")
    sock.connect(f"tcp://{address}")
    sock.send(join_frame([encode_envelope(me, master, RegisterFramework(
        framework={"user": "", "name": "intruder"}))]))
    sock.close()
    context.term()


def test_an_encrypted_cluster_runs_a_task_and_keyless_clients_get_nothing_in(
        scripts: list[Script], tmp_path: Path) -> None:
    master_public, master_secret = zmq.auth.create_certificates(str(tmp_path), "master")
    (tmp_path / "credentials").write_text("fw fw-secret\nagent agent-secret\n")
    (tmp_path / "agent.cred").write_text("agent agent-secret\n")
    port, http = free_port(), free_port()
    address, url = f"127.0.0.1:{port}", f"http://127.0.0.1:{http}"
    master = Script("mesopy-master", f"--port={port}", f"--http_port={http}", "--allocation_interval=0.1",
                    f"--curve_secret_key={master_secret}", f"--credentials={tmp_path / 'credentials'}",
                    "--authenticate_frameworks", "--authenticate_agents")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'a1'}",
                   "--resources=cpus:1;mem:512;disk:512", "--encrypt", f"--master_public_key={master_public}",
                   f"--credential={tmp_path / 'agent.cred'}", "--authenticate_http_executors")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    assert (tmp_path / "a1" / "meta" / "curve.key_secret").exists()  # its pair, kept for its executors

    key_text = zmq.auth.load_certificate(master_public)[0].decode()
    ok = run_script("mesopy-execute", f"--master={address}", "--name=t", "--command=echo encrypted",
                    "--resources=cpus:0.1;mem:32", "--timeout=60", f"--master_public_key={key_text}",
                    "--principal=fw", "--secret=fw-secret", timeout=90)
    assert ok.returncode == 0 and "FINISHED" in ok.stdout, ok.stdout + ok.stderr
    handshakes = _get(url + "/metrics/snapshot")["master/curve/handshakes"]
    assert handshakes >= 2  # the agent's connection and the driver's

    mine_public, mine_secret = zmq.curve_keypair()
    _raw_register(address, None)
    _raw_register(address, (mine_public, mine_secret, mine_public))  # a wrong server key
    # A client holding the key after them: its handshake is counted, so the others' would have been
    ok2 = run_script("mesopy-execute", f"--master={address}", "--name=v", "--command=echo again",
                     "--resources=cpus:0.1;mem:32", "--timeout=60", f"--master_public_key={master_public}",
                     "--principal=fw", timeout=90, env={**os.environ, "MESOPY_SECRET": "fw-secret"})
    assert ok2.returncode == 0 and "FINISHED" in ok2.stdout, ok2.stdout + ok2.stderr
    metrics = _get(url + "/metrics/snapshot")
    assert metrics["master/curve/handshakes"] == handshakes + 1
    state = _get(url + "/master/state")
    assert [f["name"] for f in state["frameworks"] + state["completed_frameworks"]] == ["mesopy-execute"] * 2
    assert len(state["slaves"]) == 1 and state["slaves"][0]["active"]


def test_an_executor_reconnects_over_curve_to_its_restarted_agent(scripts: list[Script], tmp_path: Path) -> None:
    """kill -9 of an encrypted agent while a checkpointed task runs: the agent comes back with the
    key pair it keeps in work_dir/meta, pins the executor's key from its checkpoint, and the
    executor (which pinned the agent's key) re-registers; the task then finishes once."""
    from frameworks import MesosSchedulerDriver
    from tests.integration.test_agent_recovery import Framework
    from transport.endpoint import generate_key_pair

    master_public, master_secret = zmq.auth.create_certificates(str(tmp_path), "master")
    port = free_port()
    address = f"127.0.0.1:{port}"
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1",
                    f"--curve_secret_key={master_secret}")
    scripts.append(master)
    master.wait_for("master_started")
    flags = (f"--master={address}", f"--port={free_port()}", f"--work_dir={tmp_path / 'agent'}",
             "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05",
             "--executor_reregistration_timeout=5secs", "--encrypt", f"--master_public_key={master_public}")
    agent = Script("mesopy-agent", *flags)
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)
    framework = Framework(f"while [ ! -e {tmp_path}/go ]; do sleep 0.05; done")
    node = Node(curve=generate_key_pair()).start()
    driver = MesosSchedulerDriver(framework, {"user": "", "name": "curve-recovery", "checkpoint": True,
                                              "failover_timeout": 60.0}, address, node=node,
                                  master_public_key=str(master_public))
    driver.start()
    try:
        framework.wait(lambda: framework.status("TASK_RUNNING") is not None, "TASK_RUNNING")
        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(5)
        again = Script("mesopy-agent", *flags)
        scripts.append(again)
        again.wait_for("executor_reregistered", executor_id="long-1")
        again.wait_for("agent_registered", reregistered=True)
        (tmp_path / "go").touch()
        framework.wait(lambda: framework.status("TASK_FINISHED") is not None, "TASK_FINISHED")
        assert "TASK_LOST" not in framework.states()
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
        (tmp_path / "go").touch()
        kill_executors_under(str(tmp_path / "agent"))


def test_with_zookeeper_the_masters_key_comes_from_the_election(scripts: list[Script], tmp_path: Path) -> None:
    """A master with a bare --encrypt (a key pair made at start): the agent and mesopy-execute,
    given only --encrypt and the zk:// URL, pin the key its MasterInfo publishes."""
    from frameworks.testing import ZooKeeperServer

    with ZooKeeperServer() as zk:
        url = zk.url("/mesos")
        master = Script("mesopy-master", f"--zk={url}", "--port=0", "--encrypt", "--allocation_interval=0.1")
        scripts.append(master)
        master.wait_for("master_started")
        agent = Script("mesopy-agent", f"--master={url}", "--port=0", f"--work_dir={tmp_path / 'a'}", "--encrypt",
                       "--resources=cpus:1;mem:256;disk:256")
        scripts.append(agent)
        agent.wait_for("agent_registered", timeout=30)
        ok = run_script("mesopy-execute", f"--master={url}", "--name=z", "--command=echo zk",
                        "--resources=cpus:0.1;mem:32", "--timeout=40", "--encrypt", timeout=60)
        assert ok.returncode == 0 and "FINISHED" in ok.stdout, ok.stdout + ok.stderr
        agent.kill()
        master.kill()
