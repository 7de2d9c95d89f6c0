"""MesosSchedulerDriver with the real master (actors.master) and a stand-in agent.

The agent here is a small Process speaking the agent protocol: it registers,
answers pings, answers RunTask with TASK_RUNNING then TASK_FINISHED (each with
its uuid) and records the acknowledgements the master relays from the driver.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from actors.master import MasterConfig, spawn_master
from actors.node import Node
from actors.process import Process
from frameworks import DRIVER_STOPPED, MesosSchedulerDriver
from tests.scenario.driver_fakes import RecordingScheduler
from transport.messages import (
    AgentRegistered,
    PingAgent,
    PongAgent,
    RegisterAgent,
    RunTask,
    ShutdownFramework,
    StatusUpdate,
    StatusUpdateAcknowledgement,
)
from transport.pid import PID


def scalar(name: str, value: float) -> dict[str, Any]:
    return {"name": name, "type": "SCALAR", "scalar": {"value": value}, "role": "*"}


class StandInAgent(Process):
    def __init__(self, node: Node, name: str, *, master: PID, events: queue.Queue[Any]) -> None:
        super().__init__(node, name)
        self.master = master
        self.events = events
        self.agent_id = ""
        self.sent: list[bytes] = []

    def initialize(self) -> None:
        self.install(AgentRegistered, self._registered)
        self.install(PingAgent, lambda sender, _: self.send(sender, PongAgent()))
        self.install(RunTask, self._run_task)
        self.install(StatusUpdateAcknowledgement, lambda _, msg: self.events.put(("ack", msg)))
        self.install(ShutdownFramework, lambda _, msg: self.events.put(("shutdown", msg)))
        info = {"hostname": "stand-in", "port": self.pid.port, "resources": [scalar("cpus", 2), scalar("mem", 1024)]}
        self.send(self.master, RegisterAgent(agent=info))

    def _registered(self, sender: PID, msg: AgentRegistered) -> None:
        self.agent_id = msg.agent_id
        self.events.put(("registered", msg.agent_id))

    def _run_task(self, sender: PID, msg: RunTask) -> None:
        self.events.put(("run", msg.task))
        framework_id = msg.framework["id"]["value"]
        for state in ("TASK_RUNNING", "TASK_FINISHED"):
            u = uuid.uuid4().bytes
            self.sent.append(u)
            status = {
                "task_id": msg.task["task_id"],
                "state": state,
                "source": "SOURCE_EXECUTOR",
                "agent_id": {"value": self.agent_id},
                "timestamp": time.time(),
                "uuid": u,
            }
            update = StatusUpdate(framework_id=framework_id, status=status, uuid=u, agent_id=self.agent_id)
            self.send(sender, update)


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node(force_encoding=True).start()
    yield n
    n.stop()


def test_launch_run_finish_and_acknowledge(node: Node) -> None:
    spawn_master(node, MasterConfig(ip=node.host, port=node.port, allocation_interval=0.05))
    events: queue.Queue[Any] = queue.Queue()
    agent = StandInAgent.spawn(node, "agent(1)", master=node.pid("master"), events=events)
    kind, agent_id = events.get(timeout=5)
    assert kind == "registered"

    sched = RecordingScheduler()
    launched: list[str] = []

    def on_offers(driver: MesosSchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if launched:
                driver.declineOffer(offer["id"])
                continue
            launched.append(offer["id"]["value"])
            task = {"name": "t", "task_id": {"value": "task-1"}, "resources": [scalar("cpus", 1), scalar("mem", 128)],
                    "command": {"value": "true", "shell": True}, "labels_of_the_future": {"k": "v"}}
            driver.launchTasks(offer["id"], [task])

    sched.reactions["resourceOffers"] = on_offers
    driver = MesosSchedulerDriver(sched, {"user": "root", "name": "e2e"}, node.address, node=node)
    driver.start()
    (framework_id, master_info) = sched.expect("registered")
    assert framework_id["value"].endswith("-0000") and master_info["port"] == node.port

    states: list[str] = []
    while len(states) < 2:
        name, args = sched.calls.get(timeout=5)
        if name == "statusUpdate":
            assert args[0]["task_id"] == {"value": "task-1"} and args[0]["agent_id"] == {"value": agent_id}
            states.append(args[0]["state"])
    assert states == ["TASK_RUNNING", "TASK_FINISHED"]

    acks: list[StatusUpdateAcknowledgement] = []
    while len(acks) < 2:
        kind, msg = events.get(timeout=5)
        if kind == "ack":
            acks.append(msg)
    assert [a.uuid for a in acks] == agent.proxy().sent.get(timeout=5)
    assert all(a.task_id == "task-1" and a.framework_id == framework_id["value"] for a in acks)

    assert driver.stop() == DRIVER_STOPPED
    assert driver.join() == DRIVER_STOPPED

