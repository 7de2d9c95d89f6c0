"""The custom executor of benchmarks/recovery.py (run as a program by the agent): every
launched task goes TASK_RUNNING and stays so until killed (TASK_KILLED)."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # benchmarks/transport.py must not shadow the transport package
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

from typing import Any  # noqa: E402

from actors.logs import configure_logging  # noqa: E402
from frameworks.executor_driver import MesosExecutorDriver  # noqa: E402
from frameworks.interface import Executor  # noqa: E402

__all__ = ["HoldExecutor"]


class HoldExecutor(Executor):
    def launchTask(self, driver: Any, task: dict[str, Any]) -> None:
        driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_RUNNING"})

    def killTask(self, driver: Any, task_id: dict[str, Any]) -> None:
        driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_KILLED"})


if __name__ == "__main__":
    configure_logging("console", "error")
    sys.exit(0 if MesosExecutorDriver(HoldExecutor()).run() == 4 else 1)
