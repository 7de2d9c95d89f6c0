"""Helpers for the end-to-end scenario tests: a recording Scheduler and task builders.

``Recorder`` records every callback under one ``threading.Condition`` and lets
the test wait on any predicate of what was recorded (no sleeps). Its
``on_offers`` policy runs on the driver's thread, under the same lock, so a
predicate never sees half an update. ``paused`` holds offers back (unanswered)
until ``resume()``: that is how a test gets several frameworks registered
before the first one takes anything.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from frameworks import MesosSchedulerDriver, Scheduler
from frameworks.testing import LocalCluster

__all__ = [
    "ECHO_EXECUTOR",
    "OneTaskPerOffer",
    "Recorder",
    "command_task",
    "echo_task",
    "framework",
    "res",
    "running",
    "scalar",
    "used",
]

Dict = dict[str, Any]
Policy = Callable[["Recorder", Any, list[Dict]], None]
ECHO_EXECUTOR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "integration", "echo_executor.py")
WAIT = 15.0


def res(cpus: float, mem: float) -> list[Dict]:
    return [{"name": "cpus", "type": "SCALAR", "scalar": {"value": float(cpus)}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": float(mem)}}]


def scalar(offer: Dict, name: str) -> float:
    """The total of scalar resource ``name`` in an offer (or any dict with ``resources``)."""
    return sum(float(r["scalar"]["value"]) for r in offer.get("resources", []) if r.get("name") == name)


def used(state: Dict, name: str, *, framework_id: str | None = None) -> float:
    """``used_resources[name]`` of the only agent, or of framework ``framework_id``, in a master state."""
    if framework_id is None:
        (agent,) = state["slaves"]
        return float(agent["used_resources"].get(name, 0.0))
    (fw,) = [f for f in state["frameworks"] if f["id"] == framework_id]
    return float(fw["used_resources"].get(name, 0.0))


def command_task(task_id: str, offer: Dict, cpus: float, mem: float, command: str = "sleep 30") -> Dict:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": res(cpus, mem), "command": {"value": command, "shell": True}}


def echo_task(task_id: str, offer: Dict, executor_id: str = "echo") -> Dict:
    """A task for the custom echo executor (tests/integration/echo_executor.py)."""
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": res(0.1, 32),
            "executor": {"executor_id": {"value": executor_id}, "name": "echo",
                         "command": {"value": f"{sys.executable} {ECHO_EXECUTOR}", "shell": True},
                         "resources": res(0.1, 64)}}


class Recorder(Scheduler):
    """A Scheduler that records everything; ``wait(predicate)`` waits for what it needs."""

    def __init__(self, on_offers: Policy | None = None, *, paused: bool = False) -> None:
        self.cond = threading.Condition()
        self.on_offers = on_offers
        self.paused = paused
        self.held: list[Dict] = []
        self.driver: Any = None
        self.framework_id: str | None = None
        self.offers: list[tuple[float, Dict]] = []     # (time.monotonic(), offer), in arrival order
        self.statuses: list[Dict] = []
        self.messages: list[tuple[str, str, str]] = []  # data as base64 text
        self.lost_agents: list[str] = []
        self.rescinded: list[str] = []
        self.errors: list[str] = []

    # --- waiting -------------------------------------------------------------

    def wait(self, predicate: Callable[[], Any], timeout: float = WAIT) -> bool:
        with self.cond:
            return bool(self.cond.wait_for(predicate, timeout))

    def offers_since(self, index: int) -> list[Dict]:
        return [o for _, o in self.offers[index:]]

    def next_offer(self, index: int, timeout: float = WAIT) -> tuple[float, Dict] | None:
        """The first offer recorded at position >= ``index`` (waiting for it), or None."""
        if not self.wait(lambda: len(self.offers) > index, timeout):
            return None
        return self.offers[index]

    def status(self, task_id: str, state: str, timeout: float = WAIT,
               where: Callable[[Dict], bool] = lambda s: True) -> Dict:
        """The first status of ``task_id`` in ``state`` matching ``where`` (AssertionError after timeout)."""
        def find() -> Dict | None:
            return next((s for s in self.statuses if s["task_id"]["value"] == task_id and s["state"] == state
                         and where(s)), None)
        assert self.wait(lambda: find() is not None, timeout), (
            f"no {state} for {task_id}; got {[(s['task_id']['value'], s['state']) for s in self.statuses]}")
        found = find()
        assert found is not None
        return found

    def resume(self) -> None:
        """Stop holding offers: hand the held ones to the policy now."""
        with self.cond:
            self.paused = False
            held, self.held = self.held, []
            if held and self.on_offers is not None:
                self.on_offers(self, self.driver, held)
            self.cond.notify_all()

    # --- Scheduler callbacks -------------------------------------------------------

    def registered(self, driver: Any, framework_id: Dict, master_info: Dict) -> None:
        with self.cond:
            self.driver = driver
            self.framework_id = framework_id["value"]
            self.cond.notify_all()

    def resourceOffers(self, driver: Any, offers: list[Dict]) -> None:
        now = time.monotonic()
        with self.cond:
            self.driver = driver
            self.offers.extend((now, o) for o in offers)
            if self.paused:
                self.held.extend(offers)
            elif self.on_offers is not None:
                self.on_offers(self, driver, offers)
            self.cond.notify_all()

    def offerRescinded(self, driver: Any, offer_id: Dict) -> None:
        with self.cond:
            self.rescinded.append(offer_id["value"])
            self.cond.notify_all()

    def statusUpdate(self, driver: Any, status: Dict) -> None:
        with self.cond:
            self.statuses.append(status)
            self.cond.notify_all()

    def frameworkMessage(self, driver: Any, executor_id: Dict, agent_id: Dict, data: str) -> None:
        with self.cond:
            self.messages.append((executor_id["value"], agent_id["value"], data))
            self.cond.notify_all()

    def slaveLost(self, driver: Any, agent_id: Dict) -> None:
        with self.cond:
            self.lost_agents.append(agent_id["value"])
            self.cond.notify_all()

    def error(self, driver: Any, message: str) -> None:
        with self.cond:
            self.errors.append(message)
            self.cond.notify_all()


class OneTaskPerOffer:
    """Policy: launch one ``<cpus, mem>`` sleep task per offer that fits it, the rest
    declined with refuse_seconds 0; an offer too small marks the framework
    ``starved``, after which it suppresses offers (and declines that one)."""

    def __init__(self, prefix: str, cpus: float, mem: float, limit: int | None = None) -> None:
        self.prefix, self.cpus, self.mem, self.limit = prefix, cpus, mem, limit
        self.launched: list[str] = []
        self.starved = False
        self.suppressed_at: float | None = None

    def __call__(self, rec: Recorder, driver: Any, offers: list[Dict]) -> None:
        for offer in offers:
            full = self.limit is not None and len(self.launched) >= self.limit
            if full or scalar(offer, "cpus") < self.cpus or scalar(offer, "mem") < self.mem:
                self.starved = self.starved or not full
                if self.suppressed_at is None:
                    # Suppress first: the decline below then goes to the other frameworks.
                    driver.suppressOffers()
                    self.suppressed_at = time.monotonic()
                driver.declineOffer(offer["id"], {"refuse_seconds": 0})
                continue
            task_id = f"{self.prefix}-{len(self.launched) + 1}"
            self.launched.append(task_id)
            driver.launchTasks(offer["id"], [command_task(task_id, offer, self.cpus, self.mem)],
                               {"refuse_seconds": 0})


def framework(name: str, role: str | None = None, **extra: Any) -> Dict:
    info: Dict = {"user": "", "name": name, **extra}
    if role is not None:
        info["roles"] = [role]
        info["capabilities"] = [{"type": "MULTI_ROLE"}]
    return info


@contextmanager
def running(cluster: LocalCluster, recorder: Recorder, info: Dict) -> Iterator[Any]:
    """A started driver for ``recorder`` (registered), stopped and joined on exit."""
    driver = MesosSchedulerDriver(recorder, info, cluster.master)
    driver.start()
    try:
        assert recorder.wait(lambda: recorder.framework_id is not None), f"{info['name']} did not register"
        yield driver
    finally:
        driver.stop()
        driver.join(5)

