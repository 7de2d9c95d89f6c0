"""The leading mesopy-chronos' state: the Runner, its store, a clock thread, the driver's effects.

Every call takes one lock, changes the pure ``Runner``, writes each job it
changed to the store (``jobs/<name>``, JSON) and only then answers, launches
or acknowledges: a job the API accepted, a task about to be launched and a
status update about to be acknowledged are on disk (or in ZooKeeper) first.
After a kill -9 and restart, ``load`` brings back every job with its
launched runs; ``reconcile`` asks the master for their states, and the
agents' unacknowledged updates arrive again, so runs end exactly once.

The clock thread ticks the Runner at each job's next occurrence (and
whenever the API changed something), launches nothing itself: queued runs
wait for offers (``offers``), revived when something is queued and
suppressed when nothing is.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import structlog

from actors.resources import Resources, ResourcesError
from frameworks.chronos.graph import last_state
from frameworks.chronos.job import JobDefaults, check_parents, parse_job
from frameworks.chronos.offers import attributes_of, constraints_hold, fit, task_info
from frameworks.chronos.runs import Runner
from frameworks.state import StateStore

__all__ = ["FRAMEWORK_ID_KEY", "ChronosService"]

log = structlog.get_logger("mesopy.chronos")

FRAMEWORK_ID_KEY = "framework_id"
JOBS = "jobs/"
STATS = ("99thPercentile", "98thPercentile", "95thPercentile", "75thPercentile", "median", "mean")
IDLE_WAKE = 5.0  # the clock thread wakes at least this often (maxCompletionTime, revive checks)


class ChronosService:
    def __init__(self, store: StateStore, defaults: JobDefaults = JobDefaults(), role: str = "*",
                 user: str = "root", clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.defaults = defaults
        self.role = role
        self.user = user
        self.clock = clock
        self.runner = Runner()
        self.lock = threading.RLock()
        self.driver: Any = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._suppressed = False

    # --- life cycle --------------------------------------------------------------------

    def load(self) -> None:
        with self.lock:
            records = []
            for key in self.store.keys(JOBS):
                raw = self.store.get(key)
                if raw is not None:
                    records.append(json.loads(raw))
            self.runner.load(records)
            log.info("chronos_state_loaded", jobs=len(records), active_runs=len(self.runner.active()))

    def framework_id(self) -> str | None:
        raw = self.store.get(FRAMEWORK_ID_KEY)
        return raw.decode() if raw else None

    def forget_framework_id(self) -> None:
        self.store.delete(FRAMEWORK_ID_KEY)

    def start_clock(self) -> None:
        self._thread = threading.Thread(target=self._clock, name="chronos-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _clock(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wake_at = self.tick()
            except Exception:
                log.exception("chronos_tick_failed")
                wake_at = None
            delay = IDLE_WAKE if wake_at is None else min(IDLE_WAKE, max(0.0, wake_at - self.clock()))
            self._wake.wait(delay)

    def tick(self) -> float | None:
        with self.lock:
            result = self.runner.tick(self.clock())
            self._persist()
            for task_id in result.kill:
                log.info("chronos_task_overdue", task_id=task_id)
                self._kill_task(task_id)
            self._revive_if_queued()
            return result.wake_at

    def _persist(self) -> None:
        dirty = sorted(self.runner.take_dirty())
        for i, name in enumerate(dirty):
            record = self.runner.dump(name)
            try:
                if record is None:
                    self.store.delete(JOBS + name)
                else:
                    self.store.put(JOBS + name, json.dumps(record, separators=(",", ":")).encode())
            except Exception:
                self.runner.mark_dirty(dirty[i:])  # written by the next call that persists
                raise

    def _changed(self) -> None:
        self._persist()
        self._revive_if_queued()
        self._wake.set()

    # --- the API's calls ---------------------------------------------------------------

    def put_job(self, body: Any, kind: str) -> None:
        """``POST /scheduler/iso8601`` or ``/scheduler/dependency``: JobError (400) if bad."""
        with self.lock:
            name = body.get("name") if isinstance(body, dict) else None
            state = self.runner.jobs.get(name) if isinstance(name, str) else None
            job = parse_job(body, kind, self.defaults, state.job if state is not None else None,
                            datetime.fromtimestamp(self.clock(), timezone.utc))
            check_parents(job, self.runner.graph, set(self.runner.jobs))
            self.runner.put_job(job)
            self._changed()
            log.info("chronos_job_saved", job=job["name"], kind=kind)

    def delete_job(self, name: str) -> None:
        with self.lock:
            for run in self.runner.remove_job(name):
                self._kill_task(run.task_id)
            self._changed()
            log.info("chronos_job_deleted", job=name)

    def run_job(self, name: str, arguments: list[str]) -> None:
        with self.lock:
            run = self.runner.trigger(name, self.clock(), arguments)
            self._changed()
            log.info("chronos_job_triggered", job=name, task_id=run.task_id if run else None)

    def mark_success(self, name: str) -> None:
        """``PUT /scheduler/job/success/{name}``: count a success now, and trigger the dependents."""
        with self.lock:
            self.runner.mark_success(name, self.clock())
            self._changed()
            log.info("chronos_job_marked_successful", job=name)

    def kill_tasks(self, name: str) -> None:
        with self.lock:
            for run in self.runner.kill(name):
                self._kill_task(run.task_id)
            self._changed()

    def jobs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._view(name) for name in sorted(self.runner.jobs)]

    def job(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.runner.job(name)  # KeyError if unknown
            return self._view(name)

    def _view(self, name: str) -> dict[str, Any]:
        view = dict(self.runner.job(name))
        view["status"] = self.runner.status(name)  # the UI's running state (not a Chronos field)
        return view

    def stats(self, name: str) -> dict[str, Any]:
        with self.lock:
            return self.runner.stats(name)

    def percentiles(self, which: str) -> list[dict[str, Any]]:
        """``GET /scheduler/stats/{which}`` (``99thPercentile``... ``median``, ``mean``): each job's
        successful run time in seconds, slowest first; ValueError naming an unknown ``which``."""
        if which not in STATS:
            raise ValueError(f"percentile: must be one of {', '.join(STATS)}, got {which!r}")
        with self.lock:
            found = [(name, self.runner.stats(name)["histogram"].get(which)) for name in self.runner.jobs]
        ranked = sorted(((t, n) for n, t in found if t is not None), reverse=True)
        return [{"jobNameLabel": name, "time": time / 1000.0} for time, name in ranked]

    def graph(self, form: str) -> str:
        """The dependency graph as Chronos' ``dot`` or ``csv`` text, nodes by their last run's outcome."""
        with self.lock:
            jobs = self.runner.jobs
            status = {n: last_state(s.job.get("lastSuccess", ""), s.job.get("lastError", "")) for n, s in jobs.items()}
            if form == "dot":
                return self.runner.graph.dot(status)
            return self.runner.graph.csv(status, {name: self.runner.status(name) for name in jobs})

    # --- the driver's side -------------------------------------------------------------

    def registered(self, driver: Any, framework_id: str) -> None:
        with self.lock:
            self.driver = driver
            if self.framework_id() != framework_id:
                self.store.put(FRAMEWORK_ID_KEY, framework_id.encode())
            self._suppressed = False
        self.reconcile()
        self._wake.set()

    def reconcile(self) -> None:
        with self.lock:
            statuses = [{"task_id": {"value": r.task_id}, **({"agent_id": {"value": r.agent_id}} if r.agent_id else {}),
                         "state": "TASK_RUNNING"} for r in self.runner.active()]
            if self.driver is not None and statuses:
                log.info("chronos_reconciling", tasks=len(statuses))
                self.driver.reconcileTasks(statuses)

    def offers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        with self.lock:
            self.driver = driver
            queued = self.runner.queued()
            launches: list[tuple[Any, list[dict[str, Any]]]] = []
            for offer in offers:
                try:
                    remaining = Resources.from_dicts(offer.get("resources", []))
                except ResourcesError:
                    remaining = Resources()
                attributes = attributes_of(offer)
                tasks = []
                for run in list(queued):
                    job = self.runner.job(run.job)
                    use = fit(job, remaining, self.role)
                    if use is None or not constraints_hold(job.get("constraints") or [], attributes):
                        continue
                    remaining = remaining - use
                    queued.remove(run)
                    agent = str((offer.get("agent_id") or {}).get("value", ""))
                    tasks.append(task_info(run.task_id, job, run.arguments, run.attempt, offer, use, self.user))
                    self.runner.launched(run.task_id, agent, self.clock())
                launches.append((offer["id"], tasks))
            self._persist()  # launched runs are on disk before their tasks are sent
            for offer_id, tasks in launches:
                if tasks:
                    log.info("chronos_launching", tasks=[t["task_id"]["value"] for t in tasks])
                    driver.launchTasks(offer_id, tasks)
                else:
                    driver.declineOffer(offer_id, {"refuse_seconds": 2.0 if queued else 60.0})
            if not self.runner.queued() and not self._suppressed:
                self._suppressed = True
                driver.suppressOffers()

    def status_update(self, driver: Any, status: Mapping[str, Any]) -> None:
        task_id = str((status.get("task_id") or {}).get("value", ""))
        state = str(status.get("state", ""))
        agent = str((status.get("agent_id") or {}).get("value", ""))
        with self.lock:
            known = self.runner.update(task_id, state, self.clock(), agent)
            self._changed()  # persisted before the acknowledgement below
            log.info("chronos_task_status", task_id=task_id, job=task_id.split(":")[3] if task_id.count(":") >= 3 else "",
                     state=state, known=known,
                     reason=status.get("reason"), message=status.get("message"))
        if status.get("uuid"):
            driver.acknowledgeStatusUpdate(dict(status))

    def _kill_task(self, task_id: str) -> None:
        if self.driver is not None:
            self.driver.killTask({"value": task_id})

    def _revive_if_queued(self) -> None:
        if self._suppressed and self.driver is not None and self.runner.queued():
            self._suppressed = False
            self.driver.reviveOffers()
