"""The public framework SDK: Scheduler / Executor interfaces and their drivers.

``from frameworks import Scheduler, Executor, MesosSchedulerDriver, MesosExecutorDriver``
"""

from frameworks.executor_driver import MesosExecutorDriver
from frameworks.interface import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    Executor,
    Scheduler,
)
from frameworks.scheduler_driver import MesosSchedulerDriver

__all__ = [
    "DRIVER_ABORTED",
    "DRIVER_NOT_STARTED",
    "DRIVER_RUNNING",
    "DRIVER_STOPPED",
    "Executor",
    "MesosExecutorDriver",
    "MesosSchedulerDriver",
    "Scheduler",
]
