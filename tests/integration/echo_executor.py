"""A small custom executor for the agent tests (run as a program by the agent).

launchTask -> TASK_RUNNING. Framework messages: ``finish`` -> every task
TASK_FINISHED; ``crash`` -> the process exits at once with status 7; anything
else comes back as ``echo:<data>``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from actors.logs import configure_logging
from frameworks.executor_driver import MesosExecutorDriver
from frameworks.interface import Executor
from frameworks.utils import decode_data


class EchoExecutor(Executor):
    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []

    def launchTask(self, driver: Any, task: dict[str, Any]) -> None:
        self.tasks.append(task)
        driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_RUNNING"})

    def frameworkMessage(self, driver: Any, text: str) -> None:
        data = decode_data(text)  # base64 text, as v1 JSON (and pymesos) hand it
        if data == b"crash":
            os._exit(7)
        if data == b"finish":
            for task in self.tasks:
                driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_FINISHED"})
            return
        driver.sendFrameworkMessage(b"echo:" + data)

    def killTask(self, driver: Any, task_id: dict[str, Any]) -> None:
        driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_KILLED"})


if __name__ == "__main__":
    configure_logging("console", "info")
    sys.exit(0 if MesosExecutorDriver(EchoExecutor()).run() == 4 else 1)
