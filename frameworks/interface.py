"""The framework interface: Scheduler and Executor callbacks, driver statuses.

The names and arguments are those of ``mesos.interface`` and pymesos, so that
framework code ports by changing an import. Every callback is a no-op here;
override the ones you need. Data are plain dicts in Mesos' v1 JSON shapes
(ids as ``{"value": "..."}``, bytes as base64 text), or ``addict.Dict``
objects when the driver was made with ``use_addict=True``. Callbacks run on
the driver's own thread, one at a time; calling driver methods from inside
them is allowed.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "DRIVER_ABORTED",
    "DRIVER_NOT_STARTED",
    "DRIVER_RUNNING",
    "DRIVER_STOPPED",
    "STATUS_NAMES",
    "Status",
    "Executor",
    "Scheduler",
]


class Status(enum.IntEnum):
    """A driver status (mesos.proto: Status). Equal to its Mesos number and to its name:
    ``DRIVER_STOPPED == 4 == "DRIVER_STOPPED"`` (Mesos' native bindings hand back the
    number; code that compares with the name works too)."""

    DRIVER_NOT_STARTED = 1
    DRIVER_RUNNING = 2
    DRIVER_ABORTED = 3
    DRIVER_STOPPED = 4

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.name == other
        return int(self) == other

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = enum.IntEnum.__hash__

    def __str__(self) -> str:
        return self.name


DRIVER_NOT_STARTED = Status.DRIVER_NOT_STARTED
DRIVER_RUNNING = Status.DRIVER_RUNNING
DRIVER_ABORTED = Status.DRIVER_ABORTED
DRIVER_STOPPED = Status.DRIVER_STOPPED

STATUS_NAMES = {status: status.name for status in Status}

Dict = dict[str, Any]


class Scheduler:
    """Callbacks of a framework's scheduler (``mesos.interface.Scheduler``)."""

    def registered(self, driver: Any, framework_id: Dict, master_info: Dict) -> None:
        """Registered with a master; ``framework_id`` is ``{"value": ...}``."""

    def reregistered(self, driver: Any, master_info: Dict) -> None:
        """Re-registered with a (possibly new) master after a disconnection."""

    def disconnected(self, driver: Any) -> None:
        """The master is gone; the driver keeps trying to re-register."""

    def resourceOffers(self, driver: Any, offers: list[Dict]) -> None:
        """New offers (v1 Offer dicts); launch on them, or decline them."""

    def offerRescinded(self, driver: Any, offer_id: Dict) -> None:
        """An offer is no longer valid; operations on it will fail."""

    def statusUpdate(self, driver: Any, status: Dict) -> None:
        """A task's new state (v1 TaskStatus dict)."""

    def frameworkMessage(self, driver: Any, executor_id: Dict, agent_id: Dict, data: str) -> None:
        """Data sent by an executor with ``sendFrameworkMessage``, as base64 text (``decode_data`` it)."""

    def slaveLost(self, driver: Any, agent_id: Dict) -> None:
        """An agent was removed from the cluster (its tasks get their own updates)."""

    def executorLost(self, driver: Any, executor_id: Dict, agent_id: Dict, status: int) -> None:
        """An executor ended; ``status`` is its wait status."""

    def error(self, driver: Any, message: str) -> None:
        """A fatal error (e.g. the framework was removed); the driver is already aborted."""


class Executor:
    """Callbacks of a framework's executor (``mesos.interface.Executor``)."""

    def registered(self, driver: Any, executor_info: Dict, framework_info: Dict, agent_info: Dict) -> None:
        """Registered with the agent that launched this executor."""

    def reregistered(self, driver: Any, agent_info: Dict) -> None:
        """Re-registered with a restarted agent."""

    def disconnected(self, driver: Any) -> None:
        """The agent is gone (e.g. restarting)."""

    def launchTask(self, driver: Any, task: Dict) -> None:
        """Run ``task`` (v1 TaskInfo dict); report its states with ``sendStatusUpdate``."""

    def killTask(self, driver: Any, task_id: Dict) -> None:
        """Kill the task; report TASK_KILLED when it is gone."""

    def frameworkMessage(self, driver: Any, data: str) -> None:
        """Data sent by the scheduler with ``sendFrameworkMessage``, as base64 text (``decode_data`` it)."""

    def shutdown(self, driver: Any) -> None:
        """Kill every task and exit."""

    def error(self, driver: Any, message: str) -> None:
        """A fatal error; the driver is aborted."""
