"""MesosExecutorDriver as pymesos code uses it, against a protocol-level stand-in agent.

The agent is a real Process on its own Node (the driver starts another node,
as in an executor OS process); every message crosses ZeroMQ.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.node import Node
from actors.process import Process
from frameworks import DRIVER_ABORTED, DRIVER_RUNNING, DRIVER_STOPPED, Executor, MesosExecutorDriver, encode_data
from transport.messages import (
    ExecutorRegistered,
    ExecutorToFramework,
    FrameworkToExecutor,
    RegisterExecutor,
    RunTask,
    StatusUpdate,
    StatusUpdateAcknowledgement,
)
from transport.pid import PID
from transport.schema import Message

AGENT_INFO = {"id": {"value": "S1"}, "hostname": "h", "resources": [], "attributes": ()}
EXECUTOR_INFO = {"executor_id": {"value": "E1"}, "framework_id": {"value": "F1"}, "data": b"\x00raw"}


class FakeAgent(Process):
    """``agent(1)``: answers RegisterExecutor, acknowledges updates, records what executors send."""

    def __init__(self, node: Node, name: str, *, received: queue.Queue[tuple[PID, Message]]) -> None:
        super().__init__(node, name)
        self.received = received
        for kind in (RegisterExecutor, StatusUpdate, ExecutorToFramework):
            self.install(kind, self._record)

    def _record(self, sender: PID, msg: Message) -> None:
        self.received.put((sender, msg))
        if isinstance(msg, RegisterExecutor):
            self.send(sender, ExecutorRegistered(executor_info=EXECUTOR_INFO, framework_info={"id": {"value": "F1"}},
                                                 agent_info=AGENT_INFO, agent_id="S1"))
        elif isinstance(msg, StatusUpdate):
            task_id = msg.status["task_id"]["value"]
            self.send(sender, StatusUpdateAcknowledgement(agent_id="S1", framework_id="F1", task_id=task_id,
                                                          uuid=msg.uuid))


class Recorder(Executor):
    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()

    def registered(self, driver: Any, executor_info: Any, framework_info: Any, agent_info: Any) -> None:
        self.calls.put(("registered", (executor_info, framework_info, agent_info)))

    def launchTask(self, driver: Any, task: Any) -> None:
        self.calls.put(("launchTask", (task,)))

    def frameworkMessage(self, driver: Any, data: Any) -> None:
        self.calls.put(("frameworkMessage", (data,)))

    def expect(self, name: str) -> tuple[Any, ...]:
        got, args = self.calls.get(timeout=5)
        assert got == name, (got, args)
        return args


@pytest.fixture
def agent() -> Iterator[tuple[Any, PID, queue.Queue[tuple[PID, Message]]]]:
    node = Node().start()
    received: queue.Queue[tuple[PID, Message]] = queue.Queue()
    ref = FakeAgent.spawn(node, "agent(1)", received=received)
    yield ref, node.pid("agent(1)"), received
    node.stop()


def next_of(received: queue.Queue[tuple[PID, Message]], kind: type[Message]) -> Any:
    _, msg = received.get(timeout=5)
    assert type(msg) is kind, msg
    return msg


def environment(agent_pid: PID) -> dict[str, str]:
    return {"MESOS_FRAMEWORK_ID": "F1", "MESOS_EXECUTOR_ID": "E1", "MESOS_AGENT_PID": str(agent_pid),
            "MESOS_AGENT_ID": "S1", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "5secs",
            "MESOS_RECOVERY_TIMEOUT": "15mins", "MESOS_CHECKPOINT": "0"}


def test_executor_driver_speaks_pymesos_shapes_and_starts_again(agent: Any) -> None:
    ref, pid, received = agent
    executor = Recorder()
    driver = MesosExecutorDriver(executor, True, 30, 5, environ=environment(pid))  # pymesos' positional order
    assert driver.aborted and (driver.use_addict, driver.timeout, driver.http_timeout) == (True, 30.0, 5)
    assert driver.start() == DRIVER_RUNNING and not driver.aborted
    assert driver.framework_id == {"value": "F1"} and driver.executor_id == {"value": "E1"}
    next_of(received, RegisterExecutor)
    executor_info, framework_info, agent_info = executor.expect("registered")
    assert agent_info.id.value == "S1" and framework_info.id.value == "F1" and agent_info.missing == {}
    assert executor_info.data == encode_data(b"\x00raw") and agent_info.attributes == []  # v1 JSON shapes

    ref.proxy().send(driver._process.pid, RunTask(framework={}, framework_pid="", task={  # type: ignore[union-attr]
        "task_id": {"value": "t1"}, "data": encode_data(b"payload")})).get(timeout=5)
    (task,) = executor.expect("launchTask")
    assert task.task_id.value == "t1" and task.data == encode_data(b"payload") and isinstance(task, dict)
    ref.proxy().send(driver._process.pid, FrameworkToExecutor(  # type: ignore[union-attr]
        agent_id="S1", framework_id="F1", executor_id="E1", data=b"\x01hi")).get(timeout=5)
    assert executor.expect("frameworkMessage") == (encode_data(b"\x01hi"),)

    driver.sendStatusUpdate({"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "data": encode_data(b"\x02")})
    update = next_of(received, StatusUpdate)
    assert update.status["data"] == encode_data(b"\x02") and len(update.uuid) == 16
    driver.sendStatusUpdate({"task_id": "t1", "state": "TASK_FINISHED", "data": b"\x03",
                             "uuid": encode_data(b"u" * 16)})  # pymesos code may bring its own uuid
    finished = next_of(received, StatusUpdate)
    assert finished.uuid == b"u" * 16 and finished.status["data"] == encode_data(b"\x03")
    driver.sendFrameworkMessage(encode_data(b"\x04back"))
    assert next_of(received, ExecutorToFramework).data == b"\x04back"
    with pytest.raises(ValueError, match="status data given as text must be base64"):
        driver.sendStatusUpdate({"task_id": "t1", "state": "TASK_RUNNING", "data": "plain words"})

    assert driver.stop() == DRIVER_STOPPED and driver.join(5) == "DRIVER_STOPPED" and driver.aborted
    assert driver.start() == DRIVER_RUNNING  # as pymesos allows: a new registration
    next_of(received, RegisterExecutor)
    executor.expect("registered")
    assert driver.abort() == DRIVER_ABORTED and driver.join(5) == 3


def test_executor_driver_gives_up_registering_after_timeout() -> None:
    errors: list[str] = []
    done = threading.Event()

    class Silent(Executor):
        def error(self, driver: Any, message: str) -> None:
            errors.append(message)
            done.set()

    env = environment(PID("agent(1)", "127.0.0.1", 9))  # nothing listens there
    driver = MesosExecutorDriver(Silent(), timeout=0.5, environ=env)
    driver.start()
    assert done.wait(5) and "within 0.5 s" in errors[0]
    assert driver.join(5) == DRIVER_ABORTED
