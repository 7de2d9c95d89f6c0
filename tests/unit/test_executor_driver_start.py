"""The executor driver's first callbacks: the process registers while the driver is
starting, and the agent's answers (registered, launchTask) may come before ``start``
returns; none may be dropped, and none may run before the driver has its process
(a launchTask sending TASK_RUNNING needs it)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import frameworks.executor_driver as executor_driver
from frameworks import Executor, MesosExecutorDriver

ENVIRON = {"MESOS_FRAMEWORK_ID": "fw-1", "MESOS_EXECUTOR_ID": "ex-1", "MESOS_AGENT_PID": "agent(1)@127.0.0.1:5051"}


class _FakeProcess:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def run(self, fn: Any, *args: Any) -> None:
        fn(*args)

    def expect_acknowledgement(self, status: dict[str, Any]) -> None:
        pass

    def send_update(self, status: dict[str, Any]) -> None:
        self.updates.append(status)


class _Recorder(Executor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.launched = threading.Event()

    def registered(self, driver: Any, executor_info: Any, framework_info: Any, agent_info: Any) -> None:
        pass

    def launchTask(self, driver: Any, task: Any) -> None:
        driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_RUNNING"})
        self.launched.set()


def test_callbacks_arriving_while_the_driver_starts_run_once_it_has_its_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    executor = _Recorder()
    process = _FakeProcess()

    def spawn(node: Any, settings: Any, callback: Any, finished: Any) -> _FakeProcess:
        callback("registered", {}, {}, {})  # the agent answered before spawn returned
        callback("launchTask", {"task_id": {"value": "t1"}})
        executor.launched.wait(0.5)  # a callback thread already running would take them now
        return process

    monkeypatch.setattr(executor_driver, "spawn_executor_process", spawn)
    driver = MesosExecutorDriver(executor, environ=ENVIRON)
    try:
        driver.start()
        assert executor.launched.wait(5), "the launchTask callback was dropped"
        assert [u["state"] for u in process.updates] == ["TASK_RUNNING"], "its status update was lost"
    finally:
        driver._queue.put(executor_driver._STOP)
        if driver._node is not None:
            driver._node.stop()


def test_run_on_this_thread_runs_the_callbacks_on_the_caller_and_returns_once_stopped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The command executor's way: no callback thread; the caller's thread runs them, in order."""
    seen: list[tuple[str, int]] = []

    class Here(Executor):  # type: ignore[misc]
        def registered(self, driver: Any, executor_info: Any, framework_info: Any, agent_info: Any) -> None:
            seen.append(("registered", threading.get_ident()))

        def launchTask(self, driver: Any, task: Any) -> None:
            seen.append(("launchTask", threading.get_ident()))

    class Process(_FakeProcess):
        connected = False

    def spawn(node: Any, settings: Any, callback: Any, finished: Any) -> _FakeProcess:
        callback("registered", {}, {}, {})
        callback("launchTask", {"task_id": {"value": "t1"}})
        callback(None)  # the process finished: the driver stops
        return Process()

    monkeypatch.setattr(executor_driver, "spawn_executor_process", spawn)
    driver = MesosExecutorDriver(Here(), environ=ENVIRON)
    assert driver.run_on_this_thread() == "DRIVER_STOPPED"
    assert seen == [("registered", threading.get_ident()), ("launchTask", threading.get_ident())]
    assert driver._thread is None  # no callback thread was made
