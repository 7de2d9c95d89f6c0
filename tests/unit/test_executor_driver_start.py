"""The executor driver's first callbacks: the process registers while the driver is
starting, and the agent's answers (registered, launchTask) may be handled before
``start`` returns; none may be dropped."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import frameworks.executor_driver as executor_driver
from frameworks import Executor, MesosExecutorDriver

ENVIRON = {"MESOS_FRAMEWORK_ID": "fw-1", "MESOS_EXECUTOR_ID": "ex-1", "MESOS_AGENT_PID": "agent(1)@127.0.0.1:5051"}


class _Recorder(Executor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.registered_event = threading.Event()

    def registered(self, driver: Any, executor_info: Any, framework_info: Any, agent_info: Any) -> None:
        self.registered_event.set()


class _FakeProcess:
    def run(self, fn: Any, *args: Any) -> None:
        fn(*args)


def test_a_callback_arriving_while_the_driver_starts_is_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    executor = _Recorder()

    def spawn(node: Any, settings: Any, callback: Any, finished: Any) -> _FakeProcess:
        callback("registered", {}, {}, {})  # the agent answered before spawn returned
        executor.registered_event.wait(2.0)  # the callback thread has it by then
        return _FakeProcess()

    monkeypatch.setattr(executor_driver, "spawn_executor_process", spawn)
    driver = MesosExecutorDriver(executor, environ=ENVIRON)
    try:
        driver.start()
        assert executor.registered_event.is_set(), "the registered callback was dropped"
    finally:
        driver._queue.put(executor_driver._STOP)
        if driver._node is not None:
            driver._node.stop()
