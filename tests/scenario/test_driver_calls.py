"""MesosSchedulerDriver against a stand-in master: every callback's arguments, every method's message.

The master is tests/scenario/driver_fakes.FakeMaster (a protocol-level stand-in;
see there). Messages go through the codec (force_encoding), as across hosts.
"""

from __future__ import annotations

import base64

import queue
from collections.abc import Iterator
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.node import Node
from frameworks import DRIVER_ABORTED, DRIVER_RUNNING, MesosSchedulerDriver
from tests.scenario.driver_fakes import (
    FRAMEWORK_ID,
    FakeMaster,
    RecordingScheduler,
    next_of,
)
from transport.messages import (
    AcceptOffers,
    AgentLost,
    DeactivateFramework,
    DeclineOffers,
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkToExecutor,
    KillTask,
    ReconcileTasks,
    RegisterFramework,
    RescindResourceOffer,
    ResourceOffers,
    ResourceRequest,
    ReviveOffers,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    SuppressOffers,
)
from transport.schema import Message


def offer(n: int, agent: str = "S1") -> dict[str, Any]:
    return {
        "id": {"value": f"O{n}"},
        "framework_id": {"value": FRAMEWORK_ID},
        "agent_id": {"value": agent},
        "hostname": "h1",
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"}],
        "allocation_info": {"role": "*"},
    }


class Harness:
    def __init__(self, node: Node, implicit: bool = True) -> None:
        self.received: queue.Queue[Any] = queue.Queue()
        self.master = FakeMaster.spawn(node, "master", received=self.received)
        self.sched = RecordingScheduler()
        self.driver = MesosSchedulerDriver(
            self.sched, {"user": "u", "name": "fw"}, node.address, implicit_acknowledgements=implicit, node=node
        )

    def start(self) -> None:
        self.driver.start()
        next_of(self.received, RegisterFramework)
        self.sched.expect("registered")

    def tell(self, msg: Message) -> None:
        self.master.proxy().send(self.driver.pid, msg).get(timeout=5)

    def next(self, kind: type[Message]) -> Any:
        return next_of(self.received, kind)[1]


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node(clock=ManualClock(), force_encoding=True).start()
    yield n
    n.stop()


@pytest.fixture
def h(node: Node) -> Iterator[Harness]:
    harness = Harness(node)
    harness.start()
    yield harness
    harness.driver.stop()


def status_update(task: str, state: str, uuid: bytes = b"") -> StatusUpdate:
    status = {"task_id": {"value": task}, "state": state, "source": "SOURCE_EXECUTOR", "message": "m"}
    return StatusUpdate(framework_id=FRAMEWORK_ID, status=status, uuid=uuid, agent_id="S1", executor_id="E1", timestamp=5.0)


def test_callbacks_get_v1_shapes(h: Harness) -> None:
    h.tell(ResourceOffers(offers=[offer(1), offer(2, "S2")]))
    (offers,) = h.sched.expect("resourceOffers")
    assert [o["id"] for o in offers] == [{"value": "O1"}, {"value": "O2"}]
    assert offers[1]["agent_id"] == {"value": "S2"} and offers[0]["resources"][0]["scalar"] == {"value": 2.0}
    h.tell(RescindResourceOffer(offer_id="O2"))
    assert h.sched.expect("offerRescinded") == ({"value": "O2"},)
    h.tell(ExecutorToFramework(agent_id="S1", framework_id=FRAMEWORK_ID, executor_id="E1", data=b"\x00hi"))
    assert h.sched.expect("frameworkMessage") == ({"value": "E1"}, {"value": "S1"}, "AGhp")  # base64, as v1 JSON
    h.tell(AgentLost(agent_id="S2"))
    assert h.sched.expect("slaveLost") == ({"value": "S2"},)
    h.tell(ExitedExecutor(agent_id="S1", framework_id=FRAMEWORK_ID, executor_id="E1", status=256))
    assert h.sched.expect("executorLost") == ({"value": "E1"}, {"value": "S1"}, 256)
    h.tell(status_update("t1", "TASK_RUNNING"))
    (status,) = h.sched.expect("statusUpdate")
    assert status["task_id"] == {"value": "t1"} and status["state"] == "TASK_RUNNING"
    assert status["agent_id"] == {"value": "S1"} and status["executor_id"] == {"value": "E1"}
    assert status["timestamp"] == 5.0 and "uuid" not in status


def test_implicit_acknowledgements(h: Harness) -> None:
    h.tell(status_update("t1", "TASK_RUNNING"))  # no uuid (e.g. reconciliation): nothing to ack
    h.tell(status_update("t1", "TASK_FINISHED", uuid=b"u" * 16))
    assert h.sched.expect("statusUpdate")[0]["state"] == "TASK_RUNNING"
    (status,) = h.sched.expect("statusUpdate")
    assert status["uuid"] == base64.b64encode(b"u" * 16).decode()  # base64 text, as pymesos hands it
    ack = h.next(StatusUpdateAcknowledgement)
    assert (ack.agent_id, ack.framework_id, ack.task_id, ack.uuid) == ("S1", FRAMEWORK_ID, "t1", b"u" * 16)
    assert h.received.empty()


def test_explicit_acknowledgements(node: Node) -> None:
    h = Harness(node, implicit=False)
    h.start()
    h.tell(status_update("t1", "TASK_RUNNING", uuid=b"a" * 16))
    (status,) = h.sched.expect("statusUpdate")
    h.tell(status_update("t2", "TASK_RUNNING", uuid=b"b" * 16))
    h.sched.expect("statusUpdate")
    assert h.driver.acknowledgeStatusUpdate(status) == DRIVER_RUNNING
    ack = h.next(StatusUpdateAcknowledgement)  # only the one we acknowledged: no implicit ack came first
    assert (ack.task_id, ack.uuid) == ("t1", b"a" * 16)
    h.driver.acknowledgeStatusUpdate({"task_id": "t9", "state": "TASK_LOST"})  # no uuid: nothing to ack
    h.driver.killTask("t2")
    assert h.next(KillTask).task_id == "t2"
    h.driver.stop()


def test_every_method_sends_its_message(h: Harness) -> None:
    d = h.driver
    h.tell(ResourceOffers(offers=[offer(1), offer(2), offer(3, "S3")]))
    h.sched.expect("resourceOffers")
    task = {"name": "t", "task_id": "t1", "resources": [], "command": {"value": "true", "shell": True}, "extra": {"x": 1}}
    assert d.launchTasks("O1", task, {"refuse_seconds": 7.0}) == DRIVER_RUNNING
    msg = h.next(AcceptOffers)
    assert msg.offer_ids == ["O1"] and msg.filters == {"refuse_seconds": 7.0}
    (launched,) = msg.operations[0]["launch"]["task_infos"]
    assert msg.operations[0]["type"] == "LAUNCH"
    assert launched["task_id"] == {"value": "t1"} and launched["agent_id"] == {"value": "S1"}  # filled from the offer
    assert launched["extra"] == {"x": 1}  # unknown keys are kept
    assert task["task_id"] == "t1" and "agent_id" not in task  # the caller's dict is not changed
    op = {"type": "LAUNCH", "launch": {"task_infos": [{"name": "u", "task_id": {"value": "t2"}, "slave_id": "S3"}]}}
    d.acceptOffers([{"value": "O3"}], [op, {"type": "RESERVE", "reserve": {"resources": []}}])
    msg = h.next(AcceptOffers)
    assert msg.offer_ids == ["O3"] and msg.filters == {} and msg.operations[1]["type"] == "RESERVE"
    assert msg.operations[0]["launch"]["task_infos"][0]["agent_id"] == {"value": "S3"}
    d.launchTasks(["O2"], [])  # no tasks: the offers are declined, as in Mesos
    assert h.next(DeclineOffers).offer_ids == ["O2"]
    d.declineOffer([{"value": "O4"}, "O5"], {"refuse_seconds": 30})
    msg = h.next(DeclineOffers)
    assert msg.offer_ids == ["O4", "O5"] and msg.filters == {"refuse_seconds": 30}
    d.killTask({"value": "t1"})
    assert h.next(KillTask).task_id == "t1"
    d.reviveOffers()
    assert h.next(ReviveOffers).roles == []
    d.reviveOffers("web")
    assert h.next(ReviveOffers).roles == ["web"]
    d.suppressOffers(["a", "b"])
    assert h.next(SuppressOffers).roles == ["a", "b"]
    d.reconcileTasks([])
    assert h.next(ReconcileTasks).statuses == []
    d.reconcileTasks({"task_id": "t1", "slave_id": {"value": "S1"}, "state": "TASK_RUNNING"})
    (st,) = h.next(ReconcileTasks).statuses
    assert st["task_id"] == {"value": "t1"} and st["agent_id"] == {"value": "S1"}
    d.sendFrameworkMessage("E1", {"value": "S1"}, b"ping")
    msg = h.next(FrameworkToExecutor)
    assert (msg.executor_id, msg.agent_id, msg.framework_id, msg.data) == ("E1", "S1", FRAMEWORK_ID, b"ping")
    d.requestResources({"agent_id": {"value": "S1"}, "resources": []})
    assert h.next(ResourceRequest).requests == [{"agent_id": {"value": "S1"}, "resources": []}]
    assert h.received.empty()


def test_bad_arguments_raise_in_the_caller(h: Harness) -> None:
    with pytest.raises(ValueError, match="offer_id"):
        h.driver.declineOffer({"id": "O1"})
    with pytest.raises(ValueError, match="task_id"):
        h.driver.launchTasks("O1", [{"name": "no id"}])
    with pytest.raises(ValueError, match="tasks"):
        h.driver.launchTasks("O1", ["not a dict"])
    with pytest.raises(ValueError, match="roles"):
        h.driver.reviveOffers(5)


def test_launch_from_inside_resource_offers(h: Harness) -> None:
    def launch(driver: MesosSchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for o in offers:
            driver.launchTasks(o["id"], [{"name": "x", "task_id": {"value": "in-cb"}, "resources": []}])

    h.sched.reactions["resourceOffers"] = launch
    h.tell(ResourceOffers(offers=[offer(9)]))
    h.sched.expect("resourceOffers")
    msg = h.next(AcceptOffers)
    assert msg.offer_ids == ["O9"]
    assert msg.operations[0]["launch"]["task_infos"][0]["agent_id"] == {"value": "S1"}


def test_failing_callback_aborts_without_ack(h: Harness) -> None:
    def boom(driver: Any, status: Any) -> None:
        raise RuntimeError("bug in the framework")

    h.sched.reactions["statusUpdate"] = boom
    h.tell(status_update("t1", "TASK_RUNNING", uuid=b"x" * 16))
    h.sched.expect("statusUpdate")
    assert h.driver.join() == DRIVER_ABORTED
    h.next(DeactivateFramework)  # and no acknowledgement before it
    h.tell(AgentLost(agent_id="S1"))  # no more callbacks
    with pytest.raises(queue.Empty):
        h.sched.calls.get(timeout=0.2)


def test_launch_while_disconnected_reports_task_lost(node: Node) -> None:
    h = Harness(node)
    h.master.stop()
    h.driver.start()
    h.driver.launchTasks("O1", {"name": "x", "task_id": "t1", "resources": []})
    (status,) = h.sched.expect("statusUpdate")
    assert status["task_id"] == {"value": "t1"} and status["state"] == "TASK_LOST"
    assert status["reason"] == "REASON_MASTER_DISCONNECTED" and status["source"] == "SOURCE_MASTER"
    assert "uuid" not in status
    h.driver.killTask("t1")  # dropped, no error
    h.driver.stop()
    h.driver.join()
