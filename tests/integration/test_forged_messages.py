"""Forged messages against real master and agent processes, from a raw ZeroMQ attacker
on loopback: each role takes each message only from the process entitled to send it.

The attacker claims a pid of its own (a ROUTER it binds, which answers the transport's
challenges, so its messages reach the role's entitlement table), a made-up one, or the
real pid's exact text (stopped by the transport: the claim is not proven by the address). After each
attack the forged message had no effect and the cluster still runs a real task
end to end with mesopy-execute.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import signal
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
from structlog.testing import capture_logs

from tests.integration.proofs_support import answer_proof
from tests.integration.operators_support import Script, StateClient, free_port, run_script
from transport import messages as m
from transport.codec import Envelope, decode_frame, encode_envelope, join_frame
from transport.schema import Message

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("actors.executor.command") is None,
                       reason="the command executor is not written yet"),
]


class Attacker:
    """A raw DEALER per target address; ``pid`` names a ROUTER of its own, served by a thread
    that answers challenges (proofs_support) and queues everything else for ``receive``."""

    def __init__(self) -> None:
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.pid = f"scheduler(666)@127.0.0.1:{self.port}"
        self._dealers: dict[str, zmq.Socket] = {}
        self._frames: queue.Queue[bytes] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closing.is_set():
            if self.router.poll(100):
                frame = self.router.recv_multipart()[-1]
                if not answer_proof(frame, self.ctx):
                    self._frames.put(frame)

    def dealer(self, receiver: str) -> zmq.Socket:
        """The DEALER connected to ``receiver``'s node (made on first use)."""
        address = receiver.partition("@")[2]
        dealer = self._dealers.get(address)
        if dealer is None:
            dealer = self._dealers[address] = self.ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.connect(f"tcp://{address}")
        return dealer

    def send(self, receiver: str, msg: Message, sender: str | None = None) -> None:
        self.dealer(receiver).send(join_frame([encode_envelope(sender or self.pid, receiver, msg)]))

    def receive(self) -> Envelope:
        """The next message the daemon sends to ``pid`` (heartbeat frames skipped)."""
        while True:
            frame = self._frames.get(timeout=10)
            if not frame.startswith(b"\x00"):
                (env,) = decode_frame(frame)
                assert isinstance(env, Envelope)
                return env

    def close(self) -> None:
        self._closing.set()
        self._thread.join(5)
        for dealer in self._dealers.values():
            dealer.close(0)
        self.router.close(0)
        self.ctx.term()


class Cluster:
    def __init__(self, scripts: list[Script], work_dir: Path) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.master_pid = f"master@{self.address}"
        self.http = f"http://127.0.0.1:{free_port()}"
        # Forged frameworks live at the attacker's socket, which never answers pings: a silent peer,
        # dropped after --heartbeat_timeout (75 s by default) with the offers it holds.
        self.master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1",
                             "--max_frameworks_per_peer=20", f"--http_port={self.http.rpartition(':')[2]}",
                             "--heartbeat_timeout=2")
        scripts.append(self.master)
        self.master.wait_for("master_started")
        self.agent = Script("mesopy-agent", f"--master={self.address}", "--port=0", f"--work_dir={work_dir}",
                            "--resources=cpus:1;mem:512;disk:512")
        scripts.append(self.agent)
        self.agent_pid = str(self.agent.wait_for("agent_started")["pid"])
        self.agent.wait_for("agent_registered")
        self.state_client = StateClient(self.address)

    def state(self) -> dict[str, Any]:
        return self.state_client.state()

    def metrics(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.http + "/metrics/snapshot", timeout=10) as reply:
            out: dict[str, Any] = json.loads(reply.read())
        return out

    def runs_a_task(self) -> None:
        result = run_script("mesopy-execute", f"--master={self.address}", "--name=real", "--command=echo real",
                            "--resources=cpus:0.1;mem:32", "--timeout=60", timeout=90)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "FINISHED" in result.stdout


@pytest.fixture
def cluster(scripts: list[Script], tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(scripts, tmp_path / "agent")
    try:
        yield c
    finally:
        c.state_client.close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    a = Attacker()
    try:
        yield a
    finally:
        a.close()


def refused(script: Script, type_name: str) -> dict[str, Any]:
    return script.wait_for("message_not_entitled", type=type_name)


class Sleeper:
    """A real framework (in this process) with one running ``sleep 60`` task."""

    def __init__(self, cluster: Any, principal: str | None = None, secret: str | None = None) -> None:
        from frameworks import MesosSchedulerDriver
        from frameworks.command import CommandScheduler

        self.running = threading.Event()
        scheduler = CommandScheduler("sleep 60", "cpus:0.1;mem:32", name="sleeper", progress=self._progress)
        info = {"user": "", "name": "sleeper", **({"principal": principal} if principal else {})}
        self.driver = MesosSchedulerDriver(scheduler, info, cluster.address, principal=principal, secret=secret)
        self.driver.start()
        assert self.running.wait(30)
        state = cluster.state()
        (fw,) = [f for f in state["frameworks"] if f["name"] == "sleeper"]
        self.framework_id = fw["id"]
        (task,) = fw["tasks"]
        self.task_id, self.agent_id = task["id"], task["slave_id"]

    def _progress(self, line: str) -> None:
        if line.endswith("RUNNING"):
            self.running.set()

    def still_running(self, cluster: Any) -> None:
        state = cluster.state()
        (fw,) = [f for f in state["frameworks"] if f["id"] == self.framework_id]
        assert fw["active"]
        assert [(t["id"], t["state"]) for t in fw["tasks"]] == [(self.task_id, "TASK_RUNNING")]
        (agent,) = state["slaves"]
        assert agent["used_resources"]["cpus"] >= 0.1  # the task still holds its cpus

    def stop(self) -> None:
        self.driver.stop()
        self.driver.join(10)


def test_a_forged_run_task_to_an_agent_runs_nothing(cluster: Cluster, attacker: Attacker, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    task = {"name": "evil", "task_id": {"value": "evil-1"}, "agent_id": {"value": "x"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
            "command": {"value": f"touch {marker}", "shell": True}}
    forged = m.RunTask(framework={"id": {"value": "evil"}, "name": "evil", "user": "root"},
                       framework_pid=attacker.pid, task=task)
    attacker.send(cluster.agent_pid, forged)
    assert refused(cluster.agent, "RunTask")["reason"] == "not_current_master"
    attacker.send(cluster.agent_pid, forged, sender="master@127.0.0.1:1")  # a made-up master
    attacker.send(cluster.agent_pid, forged, sender=cluster.master_pid)  # the real master's exact text
    # On a connection proven to speak for the attacker's own address: spoofed at once.
    cluster.agent.wait_for("message_dropped", reason="spoofed", claimed="127.0.0.1:1")
    cluster.agent.wait_for("message_dropped", reason="spoofed", claimed=cluster.address)
    cluster.runs_a_task()
    assert not marker.exists()
    assert not list((tmp_path / "agent").glob("slaves/*/frameworks/evil"))


def test_a_forged_shutdown_agent_is_ignored(cluster: Cluster, attacker: Attacker) -> None:
    attacker.send(cluster.agent_pid, m.ShutdownAgent(message="forged"))
    refused(cluster.agent, "ShutdownAgent")
    cluster.runs_a_task()
    assert cluster.agent.proc.poll() is None
    assert not [e for e in cluster.agent.lines if "agent_shutdown_by_master" in e]


def test_forged_task_finished_kill_and_unregister_have_no_effect(cluster: Cluster, attacker: Attacker) -> None:
    sleeper = Sleeper(cluster)
    try:
        u = uuid.uuid4().bytes
        status = {"task_id": {"value": sleeper.task_id}, "state": "TASK_FINISHED", "source": "SOURCE_EXECUTOR",
                  "agent_id": {"value": sleeper.agent_id}, "uuid": u}
        fid = sleeper.framework_id
        attacker.send(cluster.master_pid, m.StatusUpdate(framework_id=fid, status=status, uuid=u,
                                                         agent_id=sleeper.agent_id))
        attacker.send(cluster.master_pid, m.KillTask(framework_id=fid, task_id=sleeper.task_id))
        attacker.send(cluster.master_pid, m.UnregisterFramework(framework_id=fid))
        assert refused(cluster.master, "StatusUpdate")["reason"] == "not_registered_agent"
        assert refused(cluster.master, "KillTask")["reason"] == "not_framework_scheduler"
        assert refused(cluster.master, "UnregisterFramework")["reason"] == "not_framework_scheduler"
        sleeper.still_running(cluster)
        cluster.runs_a_task()  # the forgeries were handled before this task's messages
        sleeper.still_running(cluster)
    finally:
        sleeper.stop()


def test_a_forged_kill_task_straight_to_the_agent_kills_nothing(cluster: Cluster, attacker: Attacker) -> None:
    sleeper = Sleeper(cluster)
    try:
        for i in range(200):  # also what would have made the agent retry 200 TASK_LOST updates
            attacker.send(cluster.agent_pid, m.KillTask(framework_id=sleeper.framework_id, task_id=f"t{i}"))
        attacker.send(cluster.agent_pid, m.KillTask(framework_id=sleeper.framework_id, task_id=sleeper.task_id))
        attacker.send(cluster.agent_pid, m.ShutdownFramework(framework_id=sleeper.framework_id))
        refused(cluster.agent, "KillTask")
        refused(cluster.agent, "ShutdownFramework")
        cluster.runs_a_task()
        sleeper.still_running(cluster)
        assert not [e for e in cluster.agent.lines if "kill_unknown_task" in e]
    finally:
        sleeper.stop()


def test_a_flood_of_registrations_from_one_peer_is_capped(cluster: Cluster, attacker: Attacker) -> None:
    for i in range(60):
        attacker.send(cluster.master_pid, m.RegisterFramework(framework={"name": f"flood{i}", "user": "x"}),
                      sender=f"scheduler({i})@127.0.0.1:{attacker.port}")
    event = cluster.master.wait_for("message_not_entitled", reason="too_many_frameworks_from_peer")
    assert event["role"] == "master_admission"
    cluster.runs_a_task()  # a framework from another peer still registers and runs its task
    flood = [f for f in cluster.state()["frameworks"] if f["name"].startswith("flood")]
    assert len(flood) <= 20


def test_an_agent_registration_out_of_bounds_is_refused_naming_the_value(cluster: Cluster,
                                                                        attacker: Attacker) -> None:
    info = {"hostname": "evil", "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1e308}}]}
    attacker.send(cluster.master_pid, m.RegisterAgent(agent=info), sender=f"agent(1)@127.0.0.1:{attacker.port}")
    env = attacker.receive()
    assert isinstance(env.message, m.ShutdownAgent)
    assert "cpus must be <= 1000000, got 1e+308" in env.message.message
    assert [a["hostname"] for a in cluster.state()["slaves"]] != ["evil"]
    cluster.runs_a_task()


def test_an_agent_deaf_to_pings_is_marked_unreachable_not_shut_down(scripts: list[Script], tmp_path: Path) -> None:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--agent_ping_timeout=0.3", "--max_agent_ping_timeouts=2")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={tmp_path / 'a'}",
                   "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.1")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    agent.proc.send_signal(signal.SIGSTOP)  # deaf to pings: unreachable (Mesos 1.1+ does not shut it down)
    try:
        master.wait_for("agent_unreachable", timeout=20)
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    agent.wait_for("master_ping_timeout")
    master.wait_for("agent_reregistered", timeout=20, was_unreachable=True)
    assert agent.proc.poll() is None


def test_forged_events_to_a_scheduler_driver_do_not_abort_it(cluster: Cluster, attacker: Attacker) -> None:
    sleeper = Sleeper(cluster)
    try:
        (fw,) = [f for f in cluster.state()["frameworks"] if f["id"] == sleeper.framework_id]
        with capture_logs() as logs:
            attacker.send(fw["pid"], m.FrameworkError(message="forged"))
            attacker.send(fw["pid"], m.RescindResourceOffer(offer_id="x"), sender=f"master@127.0.0.1:{attacker.port}")
            attacker.send(fw["pid"], m.FrameworkError(message="forged"), sender=cluster.master_pid)  # unproven
            pause, waited = threading.Event(), 0.0
            while len([e for e in logs if e["event"] == "message_not_entitled"]) < 2 and waited < 10:
                pause.wait(0.05)
                waited += 0.05
        refusals = [(e["role"], e["type"]) for e in logs if e["event"] == "message_not_entitled"]
        assert refusals == [("scheduler_driver", "FrameworkError"), ("scheduler_driver", "RescindResourceOffer")]
        cluster.runs_a_task()  # an aborted driver would have deactivated its framework: still_running says not
        sleeper.still_running(cluster)
    finally:
        sleeper.stop()


def test_a_flood_of_forgeries_costs_counters_not_log_lines(cluster: Cluster, attacker: Attacker) -> None:
    """100,000 forged KillTask at the agent: at most 5 + 100 log lines (the first five, then every
    1000th with its count), and the agent still runs a task."""
    lines_before = len(cluster.agent.lines)
    forged = encode_envelope(attacker.pid, cluster.agent_pid, m.KillTask(framework_id="f", task_id="t"))
    dealer = attacker.dealer(cluster.agent_pid)
    for _ in range(100):
        dealer.send(join_frame([forged] * 1000))
    event = cluster.agent.wait_for("message_not_entitled", timeout=60, type="KillTask", count=100_000)
    assert event["reason"] == "not_current_master"
    cluster.runs_a_task()
    refusals = [line for line in cluster.agent.lines[lines_before:] if "message_not_entitled" in line]
    assert len(refusals) <= 5 + 100
    assert len("".join(cluster.agent.lines[lines_before:])) < 100_000


def test_a_forger_copying_the_real_pids_text_is_dropped_by_the_transport(cluster: Cluster,
                                                                       attacker: Attacker) -> None:
    """The framework's and the agent's exact pid text, from another connection: the master
    challenges the claimed address, which does not vouch for the forger's connection; the
    forgeries are dropped (``dropped unproven``, in the metrics too) and had no effect."""
    sleeper = Sleeper(cluster)
    try:
        (fw,) = [f for f in cluster.state()["frameworks"] if f["id"] == sleeper.framework_id]
        attacker.send(cluster.master_pid, m.KillTask(framework_id=sleeper.framework_id, task_id=sleeper.task_id),
                      sender=fw["pid"])
        u = uuid.uuid4().bytes
        status = {"task_id": {"value": sleeper.task_id}, "state": "TASK_FINISHED", "source": "SOURCE_EXECUTOR",
                  "agent_id": {"value": sleeper.agent_id}, "uuid": u}
        forged = m.StatusUpdate(framework_id=sleeper.framework_id, status=status, uuid=u, agent_id=sleeper.agent_id)
        attacker.send(cluster.master_pid, forged, sender=cluster.agent_pid)
        # The first claim waits for its address's proof, which never comes (unproven, when the
        # challenge expires); the second, on the same connection, is spoofed at once.
        cluster.master.wait_for("message_dropped", reason="spoofed", claimed=cluster.agent_pid.partition("@")[2])
        cluster.master.wait_for("message_dropped", reason="unproven", claimed=fw["pid"].partition("@")[2])
        metrics = cluster.metrics()
        assert metrics["master/dropped_frames/unproven"] == 1
        assert metrics["master/dropped_frames/spoofed"] == 1
        cluster.runs_a_task()
        sleeper.still_running(cluster)
    finally:
        sleeper.stop()


def test_poison_frames_leave_the_master_serving(cluster: Cluster, attacker: Attacker) -> None:
    """The frames that once ended a daemon's transport, then 100,000 garbage frames: each is
    rejected and counted, the log stays small, and the master still runs a task."""
    dealer = attacker.dealer(cluster.master_pid)
    envelope = [attacker.pid, cluster.master_pid, "Echo", {"payload": b"x", "seq": 1}, 0]
    deep: Any = []
    for _ in range(1010):
        deep = [deep]
    dealer.send(msgpack.packb([[attacker.pid.rpartition(":")[0] + ":" + "9" * 5000, *envelope[1:]]]))
    dealer.send(b"\x00ping 127.0.0.1:" + b"7" * 5000 + b" x")
    dealer.send(msgpack.packb([[attacker.pid, cluster.master_pid, "RequestFailed", {"error": deep}, 0]]))
    dealer.send(b"\x01" * (17 * 1024 * 1024))  # past the frame limit
    lines_before = len(cluster.master.lines)
    for _ in range(100_000):
        dealer.send(b"\xc1 garbage")
    cluster.master.wait_for("message_rejected", reason="garbage", count=100_000, timeout=120)
    metrics = cluster.metrics()
    assert metrics["master/invalid_frames/bad_envelope"] >= 1
    assert metrics["master/invalid_frames/too_deep"] >= 1
    assert metrics["master/invalid_frames/garbage"] >= 100_000
    logged = "".join(cluster.master.lines[lines_before:])
    assert len(logged) < 100_000, len(logged)
    cluster.runs_a_task()
    assert cluster.master.proc.poll() is None
