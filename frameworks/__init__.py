"""The public framework SDK: Scheduler / Executor interfaces and their drivers.

``from frameworks import Scheduler, Executor, MesosSchedulerDriver, MesosExecutorDriver``
(and pymesos' ``encode_data`` / ``decode_data``; ``frameworks.utils`` has
``parse_duration`` too): code written for pymesos ports by changing its imports.

The drivers are imported on first use (PEP 562): an executor program that
imports ``frameworks.executor_driver`` does not pay for the scheduler driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from frameworks.interface import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    Executor,
    Scheduler,
    Status,
)
from frameworks.utils import decode_data, encode_data

if TYPE_CHECKING:
    from frameworks.executor_driver import MesosExecutorDriver
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
    "Status",
    "decode_data",
    "encode_data",
]

_LAZY = {"MesosExecutorDriver": "frameworks.executor_driver", "MesosSchedulerDriver": "frameworks.scheduler_driver"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frameworks' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
