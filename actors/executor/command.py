"""The built-in command executor: ``python -m actors.executor.command``.

Like Mesos' command executor it is an ordinary executor on the executor
library: it runs one task's command (``/bin/sh -c value``, or ``value`` with
``arguments`` when ``shell`` is false) in its own process group in the
sandbox, reports TASK_STARTING, TASK_RUNNING, then TASK_FINISHED or
TASK_FAILED ("Command exited with status N" / "Command terminated by signal
SIGKILL"). A kill sends SIGTERM to the group, SIGKILL after the grace period
(the KillTask's or task's ``kill_policy.grace_period``, else
MESOS_KILL_GRACE_PERIOD, else 3 s) and reports TASK_KILLED. It exits once its
terminal update is acknowledged (or after ACK_TIMEOUT; while a checkpointing
framework's executor waits for its restarted agent, until the driver's
recovery timeout ends it).

A task with a ``health_check`` (Mesos' COMMAND, HTTP or TCP check) is probed
while it runs (actors/executor/health.py decides, probes.py probes): health
changes go out as TASK_RUNNING with ``healthy`` and reason
REASON_TASK_HEALTH_CHECK_STATUS_UPDATED (every unhealthy result, the first
healthy one after start or failures); after ``consecutive_failures`` failures
the executor kills the task, whose TASK_KILLED then says ``healthy: false``.

The executor is a child subreaper, so a process of the task that called
setsid() or double-forked stays in its tree: the kill's signals reach the
whole tree, and what is left of it once the command exits is SIGKILLed
before the terminal update.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import structlog

from actors.agent.launcher import executor_argv
from actors.agent.users import TASK_USER_VARIABLE, RunAs, resolve_run_as, switch_user_argv
from actors.executor.health import HealthCheck, HealthReport, parse_health_check
from actors.executor.probes import HealthMonitor
from actors.flags import parse_duration
from actors.logs import configure_logging
from frameworks.executor_driver import MesosExecutorDriver
from frameworks.interface import DRIVER_STOPPED, Executor
from isolation.proctree import become_subreaper, kill_tree, signal_tree

__all__ = ["ACK_TIMEOUT", "CommandExecutor", "describe_exit", "grace_period", "main"]

log = structlog.get_logger(__name__)

ACK_TIMEOUT = 30.0
DEFAULT_KILL_GRACE = 3.0


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"Command terminated by signal {name}"
    return f"Command exited with status {returncode}"


def grace_period(*policies: dict[str, Any] | None, default: float = DEFAULT_KILL_GRACE) -> float:
    """Seconds of the first ``kill_policy`` with a ``grace_period`` (nanoseconds), else ``default``."""
    for policy in policies:
        grace = (policy or {}).get("grace_period") or {}
        if "nanoseconds" in grace:
            return max(0.0, int(grace["nanoseconds"]) / 1e9)
    return default


class CommandExecutor(Executor):
    """Runs one task's command; see the module docstring."""

    def __init__(self, default_grace: float = DEFAULT_KILL_GRACE, shutdown_grace: float = 5.0,
                 entered: Callable[[], None] | None = None) -> None:
        self.default_grace = default_grace
        # Blocks until this process is in its container (a fork of the agent's zygote joins its
        # cgroups while the driver registers); OSError when it could not. None: already in it.
        self.entered = entered
        self.shutdown_grace = shutdown_grace
        self.task: dict[str, Any] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed = False
        self._lock = threading.Lock()
        self._kill_timer: threading.Timer | None = None
        self._waiter: threading.Thread | None = None  # runs the command and reports how it ended
        self._runner: threading.Thread | None = None  # started early by start_runner: the waiter to be
        self._launches: queue.SimpleQueue[tuple[Any, dict[str, Any], dict[str, str], HealthCheck | None]] = \
            queue.SimpleQueue()
        self.whole_tree = False  # True when this process is the task's subreaper (main() sets it)
        self.monitor: HealthMonitor | None = None
        self.killed_by_health_check = False

    def _update(self, driver: Any, state: str, message: str = "", reason: str = "",
                healthy: bool | None = None) -> None:
        assert self.task is not None
        status: dict[str, Any] = {"task_id": self.task["task_id"], "state": state, "message": message}
        if reason:
            status["reason"] = reason
        if healthy is not None:
            status["healthy"] = healthy
        driver.sendStatusUpdate(status)

    def launchTask(self, driver: Any, task: dict[str, Any]) -> None:
        with self._lock:
            if self.task is not None:
                driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_FAILED",
                                         "reason": "REASON_TASK_INVALID",
                                         "message": "the command executor runs one task only"})
                return
            self.task = task
        command = task.get("command") or {}
        try:
            check = parse_health_check(task["health_check"]) if "health_check" in task else None
        except ValueError as e:  # the master validates this; a task sent some other way may not be
            self._update(driver, "TASK_FAILED", f"Invalid health check: {e}", "REASON_TASK_INVALID")
            self._finish(driver)
            return
        self._update(driver, "TASK_STARTING")
        env = dict(os.environ)
        env.pop("MESOPY_CURVE_SECRET_KEY", None)  # our links' key, not the task's
        for variable in (command.get("environment") or {}).get("variables") or []:
            env[str(variable.get("name"))] = str(variable.get("value", ""))
        # The thread that waits for the command exists before the command does: under a
        # pids limit a fork bomb may leave no room to start a thread afterwards.
        if self._runner is not None:  # started with the executor (start_runner): it takes the task now
            self._waiter = self._runner
            self._launches.put((driver, command, env, check))
            return
        self._waiter = threading.Thread(target=self._run, args=(driver, command, env, check), name="command-wait",
                                        daemon=True)
        self._waiter.start()

    def start_runner(self, before: Callable[[], None] | None = None) -> None:
        """Start now the thread that will run the task's command (``launchTask`` hands it the
        task), running ``before`` on it first: a forked executor's cgroup join (actors/agent/zygote.py),
        which so overlaps the registration without a thread of its own."""
        self._runner = threading.Thread(target=self._await_launch, args=(before,), name="command-wait", daemon=True)
        self._runner.start()

    def _await_launch(self, before: Callable[[], None] | None) -> None:
        if before is not None:
            before()
        self._run(*self._launches.get())

    def _run(self, driver: Any, command: dict[str, Any], env: dict[str, str], check: HealthCheck | None) -> None:
        try:
            if self.entered is not None:
                self.entered()
            user = os.environ.get(TASK_USER_VARIABLE)
            run_as = resolve_run_as(user, switch_user=True) if user else None
            argv = _as_user(run_as, executor_argv(command))
            proc = subprocess.Popen(argv, process_group=0, env=env, stdin=subprocess.DEVNULL,
                                    cwd=os.environ.get("MESOS_SANDBOX") or None)
        except (OSError, ValueError) as e:
            log.error("command_launch_failed", error=str(e))
            self._update(driver, "TASK_FAILED", f"Failed to launch command: {e}", "REASON_COMMAND_EXECUTOR_FAILED")
            self._finish(driver)
            return
        with self._lock:
            self.proc = proc
            killed = self.killed
        log.info("command_started", pid=proc.pid, argv=argv)
        if killed:  # a kill arrived while launching
            self._signal(signal.SIGTERM)
        self._update(driver, "TASK_RUNNING")
        if check is not None and not killed:
            self.monitor = HealthMonitor(check, lambda report: self._health(driver, report), env=env,
                                         cwd=os.environ.get("MESOS_SANDBOX") or None,
                                         wrap=lambda probe_argv: _as_user(run_as, probe_argv)).start()
        returncode = proc.wait()
        if self.monitor is not None:
            self.monitor.stop()
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        left = kill_tree(os.getpid()) if self.whole_tree else []  # setsid()/background processes die with it
        log.info("command_exited", returncode=returncode, killed=self.killed, leftovers_killed=left)
        if self.killed:
            self._update(driver, "TASK_KILLED", describe_exit(returncode),
                         healthy=False if self.killed_by_health_check else None)
        elif returncode == 0:
            self._update(driver, "TASK_FINISHED", describe_exit(returncode))
        else:
            self._update(driver, "TASK_FAILED", describe_exit(returncode))
        self._finish(driver)

    def _health(self, driver: Any, report: HealthReport) -> None:
        """(The health check's thread) tell the scheduler; kill the task after too many failures."""
        with self._lock:
            if self.killed:  # no TASK_RUNNING once the task is being killed (Mesos)
                return
            if report.kill:
                self.killed_by_health_check = True
        log.info("task_health_changed", healthy=report.healthy, consecutive_failures=report.consecutive_failures,
                 kill=report.kill, message=report.message)
        self._update(driver, "TASK_RUNNING", report.message, "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED",
                     healthy=report.healthy)
        if report.kill:
            assert self.task is not None
            self._kill(grace_period(self.task.get("kill_policy"), default=self.default_grace))

    def _finish(self, driver: Any) -> None:
        acknowledged = driver.wait_for_acknowledgements(ACK_TIMEOUT)
        while not acknowledged and driver.awaiting_agent:  # the update goes with the re-registration
            acknowledged = driver.wait_for_acknowledgements(ACK_TIMEOUT)
        if not acknowledged:
            log.warning("terminal_update_not_acknowledged", timeout=ACK_TIMEOUT)
        driver.stop()

    def _signal(self, signum: int) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                pass
            if self.whole_tree:
                signal_tree(os.getpid(), signum)  # also what left the process group

    def _kill(self, grace: float) -> None:
        if self.monitor is not None:
            self.monitor.stop()
        with self._lock:
            if self.killed and self._kill_timer is not None:
                return
            self.killed = True
            if self.proc is None:
                return
        log.info("command_killing", pid=self.proc.pid, grace_period=grace)
        self._signal(signal.SIGTERM)
        self._kill_timer = threading.Timer(grace, self._signal, args=(signal.SIGKILL,))
        self._kill_timer.daemon = True
        try:
            self._kill_timer.start()
        except RuntimeError:  # no thread to be had (a pids limit): no grace
            log.warning("kill_grace_skipped", reason="cannot start a timer thread")
            self._signal(signal.SIGKILL)

    def killTask(self, driver: Any, task_id: dict[str, Any]) -> None:
        if self.task is None:
            return
        with self._lock:  # _run may be starting the command right now
            if self.proc is None and not self.killed:
                self.killed = True
                return
        value = task_id.get("value", "") if isinstance(task_id, dict) else str(task_id)
        self._kill(grace_period(driver.kill_policy(value), self.task.get("kill_policy"), default=self.default_grace))

    def shutdown(self, driver: Any) -> None:
        grace = min(self.default_grace, max(0.0, self.shutdown_grace - 1.0))
        self._kill(grace_period(self.task.get("kill_policy") if self.task else None, default=grace))
        if self.proc is not None:
            try:
                self.proc.wait(timeout=grace + 1.0)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        if self._waiter is not None:  # it sends TASK_KILLED: the driver must not stop before that
            self._waiter.join(timeout=max(1.0, self.shutdown_grace - grace))


def _as_user(run_as: RunAs | None, argv: list[str]) -> list[str]:
    return argv if run_as is None else switch_user_argv(run_as, argv)


def main(entered: Callable[[], None] | None = None, join: Callable[[], None] | None = None) -> int:
    """Run the executor until its driver stops; ``entered`` as CommandExecutor's, ``join`` (what
    makes ``entered`` return) run first on the thread that will start the command."""
    configure_logging("console", os.environ.get("MESOPY_LOG_LEVEL", "info"))
    try:
        # Mesos' form ("5secs") or plain seconds
        default_grace = parse_duration(os.environ.get("MESOS_KILL_GRACE_PERIOD") or str(DEFAULT_KILL_GRACE))
        shutdown_grace = parse_duration(os.environ.get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD") or "5secs")
    except ValueError as e:
        print(f"mesopy command executor: bad grace period: {e}", file=sys.stderr)
        return 2
    executor = CommandExecutor(default_grace, shutdown_grace, entered)
    executor.whole_tree = become_subreaper()
    executor.start_runner(join)
    driver = MesosExecutorDriver(executor)
    try:
        status = driver.run_on_this_thread()  # its callbacks on this thread: it has nothing else to do
    except ValueError as e:
        print(f"mesopy command executor: {e}", file=sys.stderr)
        return 2
    return 0 if status == DRIVER_STOPPED else 1


if __name__ == "__main__":
    sys.exit(main())
