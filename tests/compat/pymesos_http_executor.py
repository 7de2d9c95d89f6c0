"""A custom executor on the real, unmodified pymesos 0.3.15 ``MesosExecutorDriver``, which speaks
Mesos' v1 executor HTTP API to the agent at ``MESOS_AGENT_ENDPOINT``.

A task named ``*-hold`` runs until killed; any other sends the framework a message
(``hello from <task>``) and finishes. A framework message ``ping`` is answered ``echo:ping``.
"""

from __future__ import annotations

from typing import Any

from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data


class EchoExecutor(Executor):
    def launchTask(self, driver: Any, task: Any) -> None:
        name = task["name"]
        driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_RUNNING"})
        if not name.endswith("-hold"):
            driver.sendFrameworkMessage(encode_data(f"hello from {name}".encode()))
            driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_FINISHED",
                                     "data": encode_data(b"done")})

    def killTask(self, driver: Any, task_id: Any) -> None:
        driver.sendStatusUpdate({"task_id": task_id, "state": "TASK_KILLED"})

    def frameworkMessage(self, driver: Any, message: Any) -> None:
        driver.sendFrameworkMessage(encode_data(b"echo:" + decode_data(message)))


if __name__ == "__main__":
    MesosExecutorDriver(EchoExecutor()).run()
