"""When mesopy-chronos' jobs run (pure: every time is passed in, as epoch seconds).

``Runner`` holds the jobs, their runs and their recent history. ``tick(now)``
queues the scheduled runs that are due (``schedule.decide``: a run later than
``epsilon`` is skipped and counted, never run late) and rewrites each job's
``schedule`` past what it consumed. A run is *queued* until the shell
launches it on an offer (``launched``), then *launched*, then *running*.
``update(task_id, state)`` ends a run: success counts, stamps
``lastSuccess`` and triggers each dependent job once every one of its parents
has succeeded since its own last run; a failure is retried (``retries``
times), then counts as an error and triggers nothing. A job's runs never
overlap unless it is ``concurrent``: a trigger while one is active is skipped
(and counted). History keeps the last ``HISTORY`` runs per job; at most
``MAX_QUEUED`` runs of a job wait for resources.

Every change marks the job dirty (``take_dirty()``): the shell persists those
jobs (``dump``) before it acknowledges what caused the change.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from frameworks.chronos.graph import DependencyGraph
from frameworks.chronos.job import iso_time
from frameworks.chronos.schedule import decide, parse_duration, parse_schedule

__all__ = ["FAILED_STATES", "HISTORY", "MAX_QUEUED", "Run", "Runner", "TERMINAL_STATES", "TickResult"]

HISTORY = 50
MAX_QUEUED = 20
TERMINAL_STATES = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
                             "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"})
FAILED_STATES = TERMINAL_STATES - {"TASK_FINISHED"}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


@dataclass
class Run:
    """One attempt at running a job: a Mesos task once launched."""

    task_id: str
    job: str
    attempt: int
    arguments: list[str]
    cause: str  # schedule, manual, dependency, retry
    queued_at: float
    state: str = "queued"  # queued -> launched -> running
    agent_id: str = ""
    started_at: float = 0.0
    killed: bool = False  # asked to die (task/kill or a deleted job): no retry

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class JobState:
    job: dict[str, Any]
    runs: dict[str, Run] = field(default_factory=dict)
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    skipped: int = 0  # triggers not run: later than epsilon, or while a run was active


@dataclass(frozen=True)
class TickResult:
    wake_at: float | None  # when to tick again (the next scheduled occurrence), None if never
    kill: list[str]  # task ids past their job's maxCompletionTime (each returned once)


class Runner:
    def __init__(self) -> None:
        self.jobs: dict[str, JobState] = {}
        self.graph = DependencyGraph()
        self.since: dict[str, set[str]] = {}  # child -> parents that succeeded since the child last ran
        self._tasks: dict[str, str] = {}  # task id -> job name
        self._dirty: set[str] = set()
        self._last_ms = 0

    # --- jobs --------------------------------------------------------------------------

    def put_job(self, job: dict[str, Any]) -> None:
        """Add or replace a validated job (its runs, history and parent successes are kept)."""
        name = str(job["name"])
        state = self.jobs.get(name)
        if state is None:
            state = self.jobs[name] = JobState(job)
        state.job = job
        parents = list(job.get("parents") or [])
        self.graph.set_parents(name, parents)
        if name in self.since:
            self.since[name] &= set(parents)
        self._dirty.add(name)

    def remove_job(self, name: str) -> list[Run]:
        """Forget ``name``; its launched runs (to kill) are returned; KeyError if unknown. As in Chronos,
        its children take its parents in its place, and a child left without any takes its schedule."""
        state = self._state(name)
        for child, parents in self.graph.remove(name).items():
            job = self.jobs[child].job
            self._dirty.add(child)
            if child in self.since:
                self.since[child] &= set(parents)
            if parents:
                job["parents"] = parents
                continue
            job.pop("parents", None)
            for key in ("schedule", "scheduleTimeZone"):
                job[key] = state.job.get(key, "")
        del self.jobs[name]
        self.since.pop(name, None)
        for task_id in state.runs:  # their updates are ignored from now on
            self._tasks.pop(task_id, None)
        self._dirty.add(name)
        return [r for r in state.runs.values() if r.state != "queued"]

    def job(self, name: str) -> dict[str, Any]:
        return self._state(name).job

    def _state(self, name: str) -> JobState:
        state = self.jobs.get(name)
        if state is None:
            raise KeyError(f"no job named {name!r}")
        return state

    # --- when runs start ---------------------------------------------------------------

    def tick(self, now: float) -> TickResult:
        wake: float | None = None
        overdue: list[str] = []
        for name, state in self.jobs.items():
            job = state.job
            limit = float(job.get("maxCompletionTime") or 0)
            if limit > 0:
                for run in state.runs.values():
                    if run.state == "running" and not run.killed and now - run.started_at > limit:
                        run.killed = True  # killed once, not retried
                        overdue.append(run.task_id)
                        self._dirty.add(name)
            if job.get("parents") or job.get("disabled") or not job.get("schedule"):
                continue
            schedule = parse_schedule(job["schedule"], job.get("scheduleTimeZone", ""))
            decision = decide(schedule, _utc(now), parse_duration(job.get("epsilon") or "PT60S", "epsilon"))
            if decision.skipped:
                state.skipped += decision.skipped
                self._dirty.add(name)
            rest = decision.remaining or dataclasses.replace(schedule, recurrences=0)
            if str(rest) != job["schedule"]:
                job["schedule"] = str(rest)
                self._dirty.add(name)
            if decision.run_at is not None:
                self._start(state, now, [], "schedule")
            if decision.wake_at is not None:
                at = decision.wake_at.timestamp()
                wake = at if wake is None else min(wake, at)
        return TickResult(wake, overdue)

    def trigger(self, name: str, now: float, arguments: Iterable[str] = (), cause: str = "manual") -> Run | None:
        """Queue a run of ``name`` now (``PUT /scheduler/job/{name}``); None if skipped (one is active)."""
        return self._start(self._state(name), now, list(arguments), cause)

    def _start(self, state: JobState, now: float, arguments: list[str], cause: str, attempt: int = 0) -> Run | None:
        job = state.job
        self._dirty.add(str(job["name"]))
        if (state.runs and not job.get("concurrent")) or len(state.runs) >= MAX_QUEUED:
            state.skipped += 1
            return None
        ms = max(int(now * 1000), self._last_ms + 1)
        self._last_ms = ms
        task_id = f"ct:{ms}:{attempt}:{job['name']}:{' '.join(arguments)}".rstrip()
        run = Run(task_id, str(job["name"]), attempt, arguments, cause, now)
        state.runs[task_id] = run
        self._tasks[task_id] = run.job
        return run

    def queued(self) -> list[Run]:
        """Runs waiting for resources, oldest first."""
        runs = [r for s in self.jobs.values() for r in s.runs.values() if r.state == "queued"]
        return sorted(runs, key=lambda r: (r.queued_at, r.task_id))

    def active(self) -> list[Run]:
        """Runs whose task was launched (what to reconcile after a restart)."""
        return [r for s in self.jobs.values() for r in s.runs.values() if r.state != "queued"]

    def launched(self, task_id: str, agent_id: str, now: float) -> None:
        run = self._run(task_id)
        if run is not None:
            run.state, run.agent_id, run.started_at = "launched", agent_id, now
            self._dirty.add(run.job)

    def _run(self, task_id: str) -> Run | None:
        name = self._tasks.get(task_id)
        state = self.jobs.get(name) if name is not None else None
        return state.runs.get(task_id) if state is not None else None

    # --- how runs end ------------------------------------------------------------------

    def kill(self, name: str) -> list[Run]:
        """Drop ``name``'s queued runs; its launched runs (to kill) are returned, not to be retried."""
        state = self._state(name)
        for run in [r for r in state.runs.values() if r.state == "queued"]:
            del state.runs[run.task_id]
            self._tasks.pop(run.task_id, None)
        for run in state.runs.values():
            run.killed = True
        self._dirty.add(name)
        return list(state.runs.values())

    def update(self, task_id: str, task_state: str, now: float, agent_id: str = "") -> bool:
        """A task status; False if the task is not one of our active runs (a duplicate or stale update)."""
        run = self._run(task_id)
        if run is None:
            return False
        state = self.jobs[run.job]
        self._dirty.add(run.job)
        if task_state not in TERMINAL_STATES:
            if task_state == "TASK_RUNNING" or run.state == "queued":
                run.state = "running" if task_state == "TASK_RUNNING" else "launched"
            run.agent_id = agent_id or run.agent_id
            return True
        del state.runs[task_id]
        self._tasks.pop(task_id, None)
        job = state.job
        success = task_state == "TASK_FINISHED"
        state.history.append({"taskId": task_id, "slaveId": agent_id or run.agent_id, "start": run.started_at,
                              "end": now, "status": "SUCCESS" if success else "FAIL", "state": task_state,
                              "attempt": run.attempt, "cause": run.cause})
        if success:
            self._succeeded(run.job, now)
        elif run.attempt < int(job.get("retries") or 0) and not run.killed:
            self._start(state, now, run.arguments, "retry", run.attempt + 1)
        else:
            job["errorCount"] = int(job.get("errorCount") or 0) + 1
            job["lastError"] = iso_time(now)
            job["errorsSinceLastSuccess"] = int(job.get("errorsSinceLastSuccess") or 0) + 1
        return True

    def mark_success(self, name: str, now: float) -> None:
        """Count a success of ``name`` now, as if it had run (Chronos' ``job/success``)."""
        self._state(name)
        self._dirty.add(name)
        self._succeeded(name, now)

    def _succeeded(self, parent: str, now: float) -> None:
        job = self.jobs[parent].job
        job["successCount"] = int(job.get("successCount") or 0) + 1
        job["lastSuccess"] = iso_time(now)
        job["errorsSinceLastSuccess"] = 0
        self._dirty.update(self.graph.children(parent))
        for child in self.graph.record_success(parent, self.since):
            state = self.jobs.get(child)
            if state is not None and not state.job.get("disabled"):
                self.since.pop(child, None)
                self._start(state, now, [], "dependency")

    # --- persistence and reading -------------------------------------------------------

    def mark_dirty(self, names: Iterable[str]) -> None:
        self._dirty.update(names)

    def take_dirty(self) -> set[str]:
        dirty, self._dirty = self._dirty, set()
        return dirty

    def dump(self, name: str) -> dict[str, Any] | None:
        """What to store for ``name`` (None: it is gone)."""
        state = self.jobs.get(name)
        if state is None:
            return None
        return {"job": state.job, "runs": [r.to_json() for r in state.runs.values()],
                "succeeded": sorted(self.since.get(name, ())), "history": list(state.history), "skipped": state.skipped}

    def load(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild from ``dump`` records (after a restart)."""
        for item in items:
            job = dict(item["job"])
            state = self.jobs[job["name"]] = JobState(job)
            state.runs = {r.task_id: r for r in (Run.from_json(x) for x in item.get("runs", []))}
            if item.get("succeeded"):
                self.since[job["name"]] = set(item["succeeded"])
            state.history.extend(item.get("history", []))
            state.skipped = int(item.get("skipped", 0))
            for task_id in state.runs:
                self._tasks[task_id] = job["name"]
                self._last_ms = max(self._last_ms, _ms_of(task_id))
        self.graph = DependencyGraph({n: list(s.job.get("parents") or []) for n, s in self.jobs.items()})
        self._dirty.clear()

    def status(self, name: str) -> str:
        """``running``, ``queued`` or ``idle`` (the UI's and the graph's state of a job)."""
        states = {r.state for r in self._state(name).runs.values()}
        return "running" if states - {"queued"} else "queued" if states else "idle"

    def stats(self, name: str) -> dict[str, Any]:
        """``GET /scheduler/job/stat/{name}``: a histogram of successful run times (ms, as Chronos'
        metrics) and the recent runs, newest first."""
        state = self._state(name)
        times = sorted(1000.0 * (h["end"] - h["start"]) for h in state.history
                       if h["status"] == "SUCCESS" and h["start"])
        histogram: dict[str, float] = {"count": len(times), "skipped": state.skipped}
        if times:
            histogram.update({"mean": statistics.fmean(times), "median": statistics.median(times)})
            for p in (75, 95, 98, 99):
                histogram[f"{p}thPercentile"] = times[min(len(times) - 1, (p * len(times) + 99) // 100 - 1)]
        running = [{"taskId": r.task_id, "jobName": name, "slaveId": r.agent_id, "startTime": _stamp(r.started_at),
                    "endTime": "N/A", "status": "RUNNING" if r.state == "running" else "IDLE"}
                   for r in state.runs.values()]
        done = [{"taskId": h["taskId"], "jobName": name, "slaveId": h["slaveId"], "startTime": _stamp(h["start"]),
                 "endTime": _stamp(h["end"]), "duration": _period(h["end"] - h["start"]) if h["start"] else "N/A",
                 "status": h["status"]} for h in reversed(state.history)]
        return {"histogram": histogram, "taskStatHistory": running + done}


def _ms_of(task_id: str) -> int:
    parts = task_id.split(":")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def _stamp(epoch: float) -> str:
    return _utc(epoch).strftime("%m/%d/%y %H:%M:%S") if epoch else "N/A"


def _period(seconds: float) -> str:
    whole = max(0, int(round(seconds)))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d{hours}h{minutes}m{secs}s"
