"""A scheduler that runs one shell command as N tasks and reports each state
change: what mesopy-execute and mesopy-local --run use.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from actors.resources import Resources, ResourcesError
from frameworks.interface import Scheduler

__all__ = ["TERMINAL_STATES", "CommandScheduler", "exit_status_of"]

TERMINAL_STATES = frozenset(
    {
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_LOST",
        "TASK_DROPPED",
        "TASK_UNREACHABLE",
        "TASK_GONE",
        "TASK_GONE_BY_OPERATOR",
        "TASK_UNKNOWN",
    }
)
_EXIT_STATUS = re.compile(r"(?:exited with status|exit(?:ed)? (?:status|code))\s*:?\s*(-?\d+)", re.IGNORECASE)


def exit_status_of(status: dict[str, Any]) -> int:
    """A shell-like exit status for a terminal task status: 0 for TASK_FINISHED,
    the command's status when the message says "exited with status N", else 1."""
    if status.get("state") == "TASK_FINISHED":
        return 0
    match = _EXIT_STATUS.search(str(status.get("message") or ""))
    if match:
        code = int(match.group(1))
        return code if 0 < code < 256 else 1
    return 1


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _value(item: Any) -> str:
    return str(item.get("value", "")) if isinstance(item, dict) else str(item or "")


class CommandScheduler(Scheduler):
    """Launch ``instances`` tasks running ``command`` with ``resources`` each.

    ``progress(line)`` is called with one human line per event (waiting for
    offers, each state change, each task's sandbox directory on its agent,
    followed by ``sandbox_note``, and once, if the first offers are all too
    small, what is missing). ``done`` is set when every instance reached a
    terminal state or the framework got an error; ``statuses`` maps each task
    id to its last status dict; ``framework_id`` is known after registration;
    ``sandboxes`` maps task ids to their sandbox directories.
    """

    def __init__(
        self,
        command: str,
        resources: str = "cpus:0.1;mem:32",
        instances: int = 1,
        name: str = "mesopy-execute",
        role: str = "*",
        progress: Callable[[str], None] = lambda line: None,
        sandbox_note: str = "",
    ) -> None:
        if instances < 1:
            raise ValueError(f"instances must be >= 1, got {instances}")
        self.command = command
        self.resources = Resources.parse(resources)
        self.role = role
        self.name = name
        self.progress = progress
        run = uuid.uuid4().hex[:6]
        self.task_ids = [f"{name}-{run}-{i}" if instances > 1 else f"{name}-{run}" for i in range(instances)]
        self.pending = list(self.task_ids)
        self.statuses: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, str] = {}
        self.framework_id: str | None = None
        self.sandboxes: dict[str, str] = {}
        self.sandbox_note = sandbox_note
        self._largest: dict[str, float] = {}  # the most of each scalar one offer held
        self._told_too_small = False
        self.failure: str | None = None
        self.done = threading.Event()
        self._lock = threading.Lock()

    # --- results -------------------------------------------------------------

    def succeeded(self) -> bool:
        return self.failure is None and all(
            self.statuses.get(t, {}).get("state") == "TASK_FINISHED" for t in self.task_ids
        )

    def exit_status(self) -> int:
        """0 if every instance finished; else the first failed instance's exit status (or 1)."""
        if self.succeeded():
            return 0
        for task_id in self.task_ids:
            status = self.statuses.get(task_id)
            if status is not None and status.get("state") != "TASK_FINISHED":
                return exit_status_of(status)
        return 1

    # --- Scheduler callbacks ------------------------------------------------------

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.framework_id = _value(framework_id)
        self.progress(f"framework {self.framework_id} registered; waiting for offers")

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self.progress("framework re-registered")

    def disconnected(self, driver: Any) -> None:
        self.progress("disconnected from the master; waiting for it")

    def _fit(self, offered: Resources) -> Resources | None:
        for candidate in (self.resources, self.resources.flatten(self.role)):
            if offered.contains(candidate):
                return candidate
        return None

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        launched = False
        for offer in offers:
            tasks = []
            with self._lock:
                try:
                    remaining = Resources.from_dicts(offer.get("resources", []))
                except ResourcesError:
                    remaining = Resources()
                for name, amount in remaining.quantities().items():
                    self._largest[name] = max(self._largest.get(name, 0.0), amount)
                while self.pending:
                    use = self._fit(remaining)
                    if use is None:
                        break
                    remaining = remaining - use
                    task_id = self.pending.pop(0)
                    tasks.append(self._task(task_id, offer, use))
            if not tasks:
                driver.declineOffer(offer["id"], {"refuse_seconds": 5.0 if self.pending else 3600.0})
                continue
            launched = True
            for task in tasks:
                self.agents[task["task_id"]["value"]] = offer.get("hostname", "")
                self.progress(f"task {task['task_id']['value']} STAGING on agent {_value(offer.get('agent_id'))}")
            driver.launchTasks(offer["id"], tasks)
        if not launched and offers:
            self._tell_too_small()

    def _tell_too_small(self) -> None:
        """Once: which of the asked resources no offer held, beside the most that one did."""
        with self._lock:
            if self._told_too_small or not self.pending:
                return
            asked = self.resources.quantities()
            short = {n: v for n, v in asked.items() if v > self._largest.get(n, 0.0)}
            if not short:
                return  # each resource was offered; later offers may fit
            self._told_too_small = True
            largest = ";".join(f"{n}:{_amount(self._largest.get(n, 0.0))}" for n in asked)
        missing = ";".join(f"{n}:{_amount(v)}" for n, v in short.items())
        self.progress(f"no agent offers {missing}; largest offer seen: {largest}; "
                      f"still waiting for an offer that fits {self.resources}")

    def _task(self, task_id: str, offer: dict[str, Any], use: Resources) -> dict[str, Any]:
        resources = use.to_dicts()
        allocation = offer.get("allocation_info")
        if allocation:
            for item in resources:
                item["allocation_info"] = dict(allocation)
        return {
            "name": self.name,
            "task_id": {"value": task_id},
            "agent_id": offer.get("agent_id"),
            "resources": resources,
            "command": {"value": self.command, "shell": True},
        }

    def offerRescinded(self, driver: Any, offer_id: Any) -> None:
        pass

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        task_id = _value(status.get("task_id"))
        state = str(status.get("state", "?"))
        if task_id not in self.task_ids:
            return
        with self._lock:
            previous = self.statuses.get(task_id, {}).get("state")
            self.statuses[task_id] = dict(status)
            finished = all(self.statuses.get(t, {}).get("state") in TERMINAL_STATES for t in self.task_ids)
        container = status.get("container_status")
        directory = container.get("directory") if isinstance(container, dict) else None
        if directory and task_id not in self.sandboxes:
            self.sandboxes[task_id] = str(directory)
            self.progress(f"task {task_id} sandbox: {directory}{self.sandbox_note}")
        if previous != state:
            detail = [x for x in (status.get("reason"), status.get("message")) if x]
            suffix = f" ({'; '.join(str(x) for x in detail)})" if detail else ""
            self.progress(f"task {task_id} {state.removeprefix('TASK_')}{suffix}")
        if finished:
            self.done.set()

    def frameworkMessage(self, driver: Any, executor_id: Any, agent_id: Any, data: Any) -> None:
        pass

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        self.progress(f"agent {_value(agent_id)} lost")

    def executorLost(self, driver: Any, executor_id: Any, agent_id: Any, status: Any) -> None:
        pass

    def error(self, driver: Any, message: str) -> None:
        self.failure = str(message)
        self.progress(f"framework error: {message}")
        self.done.set()
