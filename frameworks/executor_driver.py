"""MesosExecutorDriver: what an executor program calls (mesos / pymesos API).

The driver reads the MESOS_* environment the agent set, starts its own node
(port 0) and the ``executor(1)`` process, which registers with the agent.
Executor callbacks run on the driver's callback thread, one at a time; driver
calls are allowed from inside them. A callback that raises aborts the driver.
After ``shutdown`` (asked by the agent, or the agent gone for good) the driver
stops by itself.

mesopy extensions: ``wait_for_acknowledgements(timeout)`` (used by the command
executor to exit only once its terminal update is acknowledged) and
``kill_policy(task_id)`` (the kill policy a KillTask carried, if any).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog

from actors.executor.process import (
    ExecutorProcess,
    ExecutorSettings,
    spawn_executor_process,
)
from actors.node import Node
from frameworks.interface import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    Executor,
)
from transport.errors import PIDError
from transport.pid import PID

__all__ = ["MesosExecutorDriver", "settings_from_environment"]

log = structlog.get_logger(__name__)

Dict = dict[str, Any]
_STOP = object()


def settings_from_environment(environ: Mapping[str, str]) -> ExecutorSettings:
    """ExecutorSettings from MESOS_* variables; ValueError naming what is missing or bad."""
    missing = [n for n in ("MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID") if not environ.get(n)]
    pid_text = environ.get("MESOS_AGENT_PID") or environ.get("MESOS_SLAVE_PID") or ""
    if not pid_text:
        missing.append("MESOS_AGENT_PID")
    if missing:
        raise ValueError(f"executor environment lacks {', '.join(missing)} (is this process launched by an agent?)")
    try:
        agent_pid = PID.parse(pid_text)
    except PIDError as e:
        raise ValueError(f"MESOS_AGENT_PID: {e}") from None

    def seconds(name: str, default: float) -> float:
        text = environ.get(name, "")
        try:
            return float(text) if text else default
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, got {text!r}") from None

    return ExecutorSettings(
        agent_pid=agent_pid,
        framework_id=environ["MESOS_FRAMEWORK_ID"],
        executor_id=environ["MESOS_EXECUTOR_ID"],
        agent_id=environ.get("MESOS_AGENT_ID") or environ.get("MESOS_SLAVE_ID") or "",
        directory=environ.get("MESOS_DIRECTORY", ""),
        checkpoint=environ.get("MESOS_CHECKPOINT", "0") in ("1", "true"),
        recovery_timeout=seconds("MESOS_RECOVERY_TIMEOUT", 900.0),
        shutdown_grace_period=seconds("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", 5.0),
    )


class MesosExecutorDriver:
    """``MesosExecutorDriver(executor)``; ``environ`` defaults to ``os.environ``."""

    def __init__(self, executor: Executor, environ: Mapping[str, str] | None = None) -> None:
        self.executor = executor
        self._environ = dict(os.environ if environ is None else environ)
        self._status = DRIVER_NOT_STARTED
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._node: Node | None = None
        self._process: ExecutorProcess | None = None
        self._thread: threading.Thread | None = None
        self.settings: ExecutorSettings | None = None

    # --- life cycle -------------------------------------------------------------

    def start(self) -> int:
        with self._lock:
            if self._status != DRIVER_NOT_STARTED:
                return self._status
            self.settings = settings_from_environment(self._environ)
            self._node = Node(self.settings.agent_pid.host, 0).start()
            self._thread = threading.Thread(target=self._callbacks, name="executor-driver", daemon=True)
            self._thread.start()
            # The actor object: its run(), waits and kill_policies are thread-safe.
            self._process = spawn_executor_process(self._node, self.settings, self._enqueue, self._finished)
            self._status = DRIVER_RUNNING
            return self._status

    def stop(self) -> int:
        return self._end(DRIVER_STOPPED)

    def abort(self) -> int:
        return self._end(DRIVER_ABORTED)

    def join(self, timeout: float | None = None) -> int:
        if self._status == DRIVER_NOT_STARTED:
            return self._status
        self._done.wait(timeout)
        return self._status

    def run(self) -> int:
        status = self.start()
        return self.join() if status == DRIVER_RUNNING else status

    def _end(self, status: int) -> int:
        with self._lock:
            if self._status != DRIVER_RUNNING:
                return self._status
            self._status = status
        self._queue.put(_STOP)
        if self._node is not None:
            self._node.stop()
        self._done.set()
        return status

    def _finished(self) -> None:
        threading.Thread(target=self.stop, name="executor-driver-stop", daemon=True).start()

    # --- calls ----------------------------------------------------------------

    def sendStatusUpdate(self, status: Dict) -> int:
        """Send a TaskStatus dict; uuid, timestamp, source, executor_id and agent_id are filled in."""
        if self._status != DRIVER_RUNNING or self._process is None or self.settings is None:
            return self._status
        if not isinstance(status, dict) or not status.get("task_id") or not status.get("state"):
            raise ValueError(f"status must be a dict with task_id and state, got {status!r}")
        if status["state"] == "TASK_STAGING":
            raise ValueError("executors may not send TASK_STAGING (Mesos rule)")
        full = dict(status)
        if isinstance(full["task_id"], str):
            full["task_id"] = {"value": full["task_id"]}
        full.update(uuid=uuid.uuid4().bytes, source="SOURCE_EXECUTOR",
                    executor_id={"value": self.settings.executor_id})
        full.setdefault("timestamp", time.time())
        if isinstance(full.get("data"), str):
            full["data"] = full["data"].encode()
        self._process.run(self._process.send_update, full)
        return self._status

    def sendFrameworkMessage(self, data: bytes | str) -> int:
        if self._status != DRIVER_RUNNING or self._process is None:
            return self._status
        payload = data.encode() if isinstance(data, str) else bytes(data)
        self._process.run(self._process.send_message, payload)
        return self._status

    def wait_for_acknowledgements(self, timeout: float) -> bool:
        """Block until the agent acknowledged every update sent so far (False on timeout)."""
        return self._process is not None and self._process.wait_acknowledged(timeout)

    def kill_policy(self, task_id: str) -> Dict | None:
        return self._process.kill_policies.get(task_id) if self._process is not None else None

    @property
    def status(self) -> int:
        return self._status

    # --- the callback thread ------------------------------------------------------

    def _enqueue(self, name: str | None, *args: Any) -> None:
        self._queue.put((name, args))

    def _callbacks(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            name, args = item
            if name is None:
                self.stop()
                return
            if self._status != DRIVER_RUNNING:
                continue
            try:
                getattr(self.executor, name)(self, *args)
            except Exception as e:
                log.exception("executor_callback_failed", callback=name)
                try:
                    self.executor.error(self, f"{name} raised {type(e).__name__}: {e}")
                except Exception:
                    log.exception("executor_callback_failed", callback="error")
                self.abort()
                return

    def __repr__(self) -> str:
        who = f"{self.settings.framework_id}/{self.settings.executor_id}" if self.settings else "unstarted"
        return f"MesosExecutorDriver({who}, status={self._status})"
