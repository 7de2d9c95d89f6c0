"""MesosExecutorDriver: what an executor program calls (mesos / pymesos API).

The driver reads the MESOS_* environment the agent set, starts its own node
(port 0) and the ``executor(1)`` process, which registers with the agent.
Executor callbacks run on the driver's callback thread, one at a time; driver
calls are allowed from inside them. A callback that raises aborts the driver.
After ``shutdown`` (asked by the agent, or the agent gone for good) the driver
stops by itself.

mesopy extensions: ``wait_for_acknowledgements(timeout)`` (used by the command
executor to exit only once its terminal update is acknowledged),
``kill_policy(task_id)`` (the kill policy a KillTask carried, if any) and
``run_on_this_thread()`` (``run()`` with the callbacks on the caller's thread:
the command executor's, one thread less per executor).
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
from actors.clock import Timer
from actors.node import Node
from actors.flags import parse_duration
from actors.scheduler.shapes import b64_text, bytes_from, check_not_protobuf, plain, shaper
from frameworks.interface import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    Executor,
    Status,
)
from transport.curve import CurveError, CurveKeys, parse_key
from transport.errors import PIDError
from transport.pid import PID

__all__ = ["MesosExecutorDriver", "settings_from_environment"]

log = structlog.get_logger(__name__)

Dict = dict[str, Any]
_STOP = object()
DAY = 86400.0  # pymesos' default timeout


def settings_from_environment(environ: Mapping[str, str]) -> ExecutorSettings:
    """ExecutorSettings from MESOS_* variables; ValueError naming what is missing or bad.

    Durations may be in Mesos' form (``5secs``, ``15mins``) or plain seconds.
    """
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
            return parse_duration(text) if text.strip() else default
        except ValueError:
            raise ValueError(f"{name} must be a duration like 5secs or a number of seconds, got {text!r}") from None

    return ExecutorSettings(
        agent_pid=agent_pid,
        framework_id=environ["MESOS_FRAMEWORK_ID"],
        executor_id=environ["MESOS_EXECUTOR_ID"],
        agent_id=environ.get("MESOS_AGENT_ID") or environ.get("MESOS_SLAVE_ID") or "",
        directory=environ.get("MESOS_DIRECTORY", ""),
        checkpoint=environ.get("MESOS_CHECKPOINT", "0").strip().lower() in ("1", "true"),
        recovery_timeout=seconds("MESOS_RECOVERY_TIMEOUT", 900.0),
        shutdown_grace_period=seconds("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", 5.0),
        token=environ.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", ""),
        **_curve_settings(environ),
    )


def _curve_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The agent's CURVE key and ours, when the agent encrypts its links (ValueError naming a bad one)."""
    agent_key = environ.get("MESOPY_AGENT_PUBLIC_KEY", "")
    if not agent_key:
        return {}
    try:
        curve = CurveKeys(parse_key(environ.get("MESOPY_CURVE_PUBLIC_KEY", ""), "MESOPY_CURVE_PUBLIC_KEY"),
                          parse_key(environ.get("MESOPY_CURVE_SECRET_KEY", ""), "MESOPY_CURVE_SECRET_KEY"))
        return {"agent_public_key": parse_key(agent_key, "MESOPY_AGENT_PUBLIC_KEY"), "curve": curve}
    except CurveError as e:
        raise ValueError(str(e)) from None


class MesosExecutorDriver:
    """``MesosExecutorDriver(executor, use_addict=False, timeout=..., http_timeout=...)`` (pymesos' signature).

    ``use_addict`` hands callbacks ``addict.Dict`` objects. ``timeout``
    (seconds, default a day) bounds how long the driver waits to register
    with its agent before it aborts and calls ``error``. ``http_timeout`` is
    accepted for pymesos code and unused: calls travel as messages, not HTTP
    requests. ``environ`` (keyword only) defaults to ``os.environ``.
    """

    def __init__(self, executor: Executor, use_addict: bool = False, timeout: float = DAY,
                 http_timeout: float = 10, *, environ: Mapping[str, str] | None = None) -> None:
        self.executor = executor
        self.use_addict = bool(use_addict)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.timeout = float(timeout)
        self.http_timeout = http_timeout
        self._shape = shaper(self.use_addict)
        self._environ = dict(os.environ if environ is None else environ)
        self._status = DRIVER_NOT_STARTED
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._node: Node | None = None
        self._process: ExecutorProcess | None = None
        self._thread: threading.Thread | None = None
        self._deadline: Timer | None = None
        self.settings: ExecutorSettings | None = None

    # --- life cycle -------------------------------------------------------------

    def start(self) -> Status:
        """Register with the agent; a stopped or aborted driver starts again (a new registration)."""
        return self._start(callback_thread=True)

    def _start(self, callback_thread: bool) -> Status:
        with self._lock:
            if self._status == DRIVER_RUNNING:
                return self._status
            self.settings = settings_from_environment(self._environ)
            self._queue = queue.Queue()
            self._done = threading.Event()
            self._node = Node(self.settings.agent_pid.host, 0, curve=self.settings.curve).start()
            if self.settings.curve is not None:
                self._node.pin(self.settings.agent_pid.address, self.settings.agent_public_key)
            # Running before the process registers, and the callback thread started once the
            # process exists: its first callbacks (registered, launchTask) can come before spawn
            # returns; they wait in the queue, neither dropped nor run without the process.
            self._status = DRIVER_RUNNING
            # The actor object: its run(), waits and kill_policies are thread-safe.
            self._process = spawn_executor_process(self._node, self.settings, self._enqueue, self._finished)
            self._thread = None
            if callback_thread:
                self._thread = threading.Thread(target=self._callbacks, args=(self._queue,), name="executor-driver",
                                                daemon=True)
                self._thread.start()
            # On the node's clock (its timer thread runs anyway: the registration retries), not a thread of its own.
            process = self._process
            self._deadline = self._node.clock.call_later(self.timeout, lambda: self._registration_deadline(process))
            return self._status

    def stop(self) -> Status:
        """Stop; updates already sent get a moment (up to 1 s) to reach the agent first."""
        process = self._process
        if self._status == DRIVER_RUNNING and process is not None and process.connected:
            process.wait_acknowledged(1.0)
        return self._end(DRIVER_STOPPED)

    def abort(self) -> Status:
        return self._end(DRIVER_ABORTED)

    def join(self, timeout: float | None = None) -> Status:
        if self._status == DRIVER_NOT_STARTED:
            return self._status
        self._done.wait(timeout)
        return self._status

    def run(self) -> Status:
        status = self.start()
        return self.join() if status == DRIVER_RUNNING else status

    def run_on_this_thread(self) -> Status:
        """``run()`` with the callbacks on the calling thread instead of a thread of their own
        (mesopy: the command executor's main thread has nothing else to do); it returns once the
        driver has ended and the callback then running has returned."""
        with self._lock:
            running = self._status == DRIVER_RUNNING
        if running:
            return self.join()
        status = self._start(callback_thread=False)
        if status != DRIVER_RUNNING:
            return status
        self._callbacks(self._queue)
        return self.join()

    @property
    def aborted(self) -> bool:
        """True unless the driver is running (pymesos: not started, stopped or aborted)."""
        return self._status != DRIVER_RUNNING

    @property
    def framework_id(self) -> Dict | None:
        """``{"value": ...}`` from MESOS_FRAMEWORK_ID once started (pymesos' shape)."""
        return {"value": self.settings.framework_id} if self.settings else None

    @property
    def executor_id(self) -> Dict | None:
        return {"value": self.settings.executor_id} if self.settings else None

    def _end(self, status: Status) -> Status:
        with self._lock:
            if self._status != DRIVER_RUNNING:
                return self._status
            self._status = status
        if self._deadline is not None:
            self._deadline.cancel()
        self._queue.put(_STOP)
        if self._node is not None:
            self._node.stop()
        self._done.set()
        return status

    def _finished(self) -> None:
        threading.Thread(target=self.stop, name="executor-driver-stop", daemon=True).start()

    def _registration_deadline(self, process: ExecutorProcess) -> None:
        if process is self._process and not process.connected and self._status == DRIVER_RUNNING:
            log.error("executor_registration_timeout", timeout=self.timeout)
            self._enqueue("error", f"could not register with the agent within {self.timeout:g} s")
            self._enqueue(None, DRIVER_ABORTED)

    # --- calls ----------------------------------------------------------------

    def sendStatusUpdate(self, status: Dict) -> Status:
        """Send a TaskStatus dict; uuid, timestamp, source, executor_id and agent_id are filled in.

        ``data`` may be bytes or base64 text (``encode_data(...)``, as pymesos
        code passes it); it reaches the scheduler as base64 text. A ``uuid``
        given (bytes or base64 text) is kept.
        """
        if self._status != DRIVER_RUNNING or self._process is None or self.settings is None:
            return self._status
        check_not_protobuf(status, "status")
        if not isinstance(status, Mapping) or not status.get("task_id") or not status.get("state"):
            raise ValueError(f"status must be a dict with task_id and state, got {status!r}")
        if status["state"] == "TASK_STAGING":
            raise ValueError("executors may not send TASK_STAGING (Mesos rule)")
        full: Dict = plain(status, "status")
        if isinstance(full["task_id"], str):
            full["task_id"] = {"value": full["task_id"]}
        given = full.get("uuid")
        full.update(uuid=bytes_from(given, "status uuid") if given else uuid.uuid4().bytes,
                    source="SOURCE_EXECUTOR", executor_id={"value": self.settings.executor_id})
        full.setdefault("timestamp", time.time())
        if full.get("data") is not None:
            full["data"] = b64_text(bytes_from(full["data"], "status data"))
        self._process.expect_acknowledgement(full)  # at once: a wait_for_acknowledgements() now waits for it
        self._process.run(self._process.send_update, full)
        return self._status

    def sendFrameworkMessage(self, data: bytes | str) -> Status:
        """``data`` as bytes, or as base64 text (``encode_data(...)``); the scheduler gets base64 text."""
        if self._status != DRIVER_RUNNING or self._process is None:
            return self._status
        payload = bytes_from(data, "framework message data")
        self._process.run(self._process.send_message, payload)
        return self._status

    def wait_for_acknowledgements(self, timeout: float) -> bool:
        """Block until the agent acknowledged every update sent so far (False on timeout)."""
        return self._process is not None and self._process.wait_acknowledged(timeout)

    @property
    def awaiting_agent(self) -> bool:
        """True while the driver runs disconnected from its agent, waiting (up to
        MESOS_RECOVERY_TIMEOUT, checkpointing frameworks only) for it to come back."""
        process = self._process
        return self._status == DRIVER_RUNNING and process is not None and process.awaiting_agent

    def kill_policy(self, task_id: str) -> Dict | None:
        return self._process.kill_policies.get(task_id) if self._process is not None else None

    @property
    def status(self) -> Status:
        return self._status

    # --- the callback thread ------------------------------------------------------

    def _enqueue(self, name: str | None, *args: Any) -> None:
        self._queue.put((name, args))

    def _callbacks(self, inbox: queue.Queue[Any]) -> None:
        while True:
            item = inbox.get()
            if item is _STOP:
                return
            name, args = item
            if name is None:  # the process finished (or the deadline passed): end the driver
                if args:
                    self._end(args[0])
                else:
                    self.stop()
                return
            if self._status != DRIVER_RUNNING:
                continue
            fn = getattr(self.executor, name, None)
            if fn is None:
                continue
            try:
                fn(self, *[self._shape(a) for a in args])
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
