"""The SDK shell around MarathonCore: a ``frameworks.Scheduler`` whose callbacks, API calls and
a ticker thread all drive the core under one lock, then carry out its effects: the store writes
first, as one durable batch, then the launches, kills, replies and events that depend on them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from frameworks.interface import Scheduler
from frameworks.marathon.core import MarathonCore
from frameworks.marathon.effects import Decline, Event, Kill, Launch, Reconcile, Remove, Revive, Save
from frameworks.marathon.events import EventBus
from frameworks.state import StateStore, write_batch

__all__ = ["RECONCILE_SECONDS", "TICK_SECONDS", "MarathonScheduler"]

T = TypeVar("T")
TICK_SECONDS = 0.5  # how often deployments move and extra tasks are killed
RECONCILE_SECONDS = 300.0  # explicit reconciliation of every known task (Marathon: 600 s)

log = structlog.get_logger("mesopy.marathon")


class MarathonScheduler(Scheduler):
    def __init__(self, store: StateStore, events: EventBus, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.core = MarathonCore()
        self.core.load({k: v for k in store.keys() if (v := store.get(k)) is not None})
        self.lock = threading.RLock()
        self.driver: Any = None
        self.master_url: str | None = None  # the leading master's HTTP address (for links to sandboxes)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        log.info("marathon_state_loaded", apps=len(self.core.apps), tasks=len(self.core.tasks),
                 deployments=len(self.core.deployments), framework_id=self.core.framework_id)

    # --- driving the core -------------------------------------------------------------

    def call(self, fn: Callable[[MarathonCore, float], T]) -> T:
        """Run ``fn(core, now)`` under the lock, then carry out what it asked for."""
        with self.lock:
            try:
                return fn(self.core, self.clock())
            finally:
                self._flush()

    def _flush(self) -> None:
        """Carry out the core's effects: first every store change, in one durable batch (one
        flush for a whole offer round of launches, not one per task), then the rest in order."""
        effects, self.core.outbox = self.core.outbox, []
        write_batch(self.store, [(e.key, e.value if isinstance(e, Save) else None)
                                 for e in effects if isinstance(e, Save | Remove)])
        revive = False
        for effect in effects:
            if isinstance(effect, Save | Remove):
                continue
            elif isinstance(effect, Event):
                self.events.publish(effect.data)
            elif self.driver is None:
                continue
            elif isinstance(effect, Launch):
                log.info("marathon_launch", tasks=[t["task_id"]["value"] for t in effect.tasks],
                         agent_id=effect.tasks[0]["agent_id"]["value"])
                self.driver.launchTasks(effect.offer_ids, effect.tasks)
            elif isinstance(effect, Decline):
                self.driver.declineOffer(effect.offer_ids, {"refuse_seconds": effect.refuse_seconds})
            elif isinstance(effect, Kill):
                log.info("marathon_kill", task_id=effect.task_id)
                self.driver.killTask({"value": effect.task_id})
            elif isinstance(effect, Reconcile):
                self.driver.reconcileTasks(effect.statuses)
            elif isinstance(effect, Revive):
                revive = True
        if revive and self.driver is not None:
            self.driver.reviveOffers()

    def start_ticking(self) -> None:
        self._ticker = threading.Thread(target=self._tick_loop, name="marathon-tick", daemon=True)
        self._ticker.start()

    def stop_ticking(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(5.0)

    def _tick_loop(self) -> None:
        last_reconcile = self.clock()
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.call(lambda core, now: core.tick(now))
                if self.connected.is_set() and self.clock() - last_reconcile >= RECONCILE_SECONDS:
                    last_reconcile = self.clock()
                    self.call(lambda core, now: core.registered(core.framework_id or ""))
            except Exception:  # the ticker must go on; the error is logged with its trace
                log.exception("marathon_tick_failed")

    # --- Scheduler callbacks (the driver's thread) ----------------------------------------

    def _master(self, master_info: Any) -> None:
        address = (master_info or {}).get("address") or {}
        if address.get("port"):
            self.master_url = f"http://{address.get('ip') or address.get('hostname')}:{address['port']}/"

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.driver = driver
        self._master(master_info)
        fid = str(framework_id["value"] if isinstance(framework_id, dict) else framework_id)
        log.info("marathon_registered", framework_id=fid)
        self.call(lambda core, now: core.registered(fid))
        self.connected.set()

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self.driver = driver
        self._master(master_info)
        log.info("marathon_reregistered", framework_id=self.core.framework_id)
        self.call(lambda core, now: core.registered(core.framework_id or ""))
        self.connected.set()

    def disconnected(self, driver: Any) -> None:
        log.warning("marathon_disconnected")
        self.connected.clear()

    def resourceOffers(self, driver: Any, offers: list[Any]) -> None:
        self.call(lambda core, now: core.offers(offers, now))

    def statusUpdate(self, driver: Any, status: Any) -> None:
        self.call(lambda core, now: core.status(status, now))

    def offerRescinded(self, driver: Any, offer_id: Any) -> None:
        pass

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        log.info("marathon_agent_lost", agent_id=agent_id.get("value") if isinstance(agent_id, dict) else agent_id)

    def error(self, driver: Any, message: str) -> None:
        log.error("marathon_framework_error", message=message)
