"""MesosSchedulerDriver: what a framework's scheduler calls (mesos / pymesos API).

Every method may be called from any thread, including from inside a
Scheduler callback: it checks the driver status under a lock and hands the
work to the driver's actor (``actors.scheduler.process``), which sends to the
master. Methods return the driver status, as Mesos' driver does. Calls made
while the master is disconnected are logged and dropped, except launches,
which come back as TASK_LOST (TASK_DROPPED for partition-aware frameworks)
status updates, as in Mesos.

The signature, attributes and data shapes are pymesos' (docs/sdk.md).
Choices, where Mesos has several: ``stop(failover=True)`` (or ``stop()`` of
a driver made with ``failover=True``) sends DeactivateFramework (the master
keeps the tasks for ``failover_timeout``);
``abort()`` stops callbacks and, like Mesos, tells a connected master to
deactivate the framework; a callback that raises aborts the driver (Mesos'
Python bindings do the same).
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
import weakref
from typing import Any

import structlog

from actors.master_keys import pin_configured
from actors.node import Node, default_node
from actors.scheduler.ids import as_dicts, as_texts, id_dict, id_value, id_values
from actors.scheduler.process import SchedulerProcess
from actors.scheduler.state import (
    DriverCore,
    launch_operations,
    normalize_filters,
    normalize_framework,
    normalize_operations,
    normalize_statuses,
    normalize_tasks,
)
from actors.scheduler.shapes import bytes_from, check_not_protobuf, dict_class, plain, shaper
from frameworks.master_address import parse_master
from frameworks.interface import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    STATUS_NAMES,
    Status,
)
from actors.ha.election import zk_url
from transport.curve import load_public_key
from transport.pid import PID

__all__ = ["MesosSchedulerDriver", "parse_master"]

log = structlog.get_logger(__name__)

Dict = dict[str, Any]

DAY = 86400.0  # pymesos' default timeout

# Started drivers, halted at interpreter exit (their threads are daemons: they never keep it alive).
_running: weakref.WeakSet[MesosSchedulerDriver] = weakref.WeakSet()


@atexit.register
def _halt_all() -> None:
    """At interpreter exit: stop each driver's actor without a word to the master (as a crash would)."""
    for process in [d._process for d in list(_running) if d._status in (DRIVER_RUNNING, DRIVER_ABORTED)]:
        if process is not None:
            process.halt()
            process.finished.wait(1.0)


class _Hooks:
    """The driver as its actor sees it (kept apart from the public method names)."""

    def __init__(self, driver: MesosSchedulerDriver) -> None:
        self._driver = driver
        self._process: SchedulerProcess | None = None
        self.shape = shaper(driver.use_addict)
        self.timeout = driver.timeout

    def running(self) -> bool:
        """The driver runs, and with this process (not a later one, after a restart)."""
        return self._driver._status == DRIVER_RUNNING and self._driver._process is self._process

    def abort(self) -> Any:
        return self._driver.abort()

    def attached(self, process: SchedulerProcess) -> None:
        self._process = self._driver._process = process

    def registered(self, master_info: Dict) -> None:
        version = master_info.get("version")
        self._driver.version = version if isinstance(version, str) and version else None

    def detached(self) -> None:
        self._driver._detached(self._process)


def _pick(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    if value is not None and alias_value is not None:
        raise TypeError(f"MesosSchedulerDriver got both {name} and its alias {alias}")
    value = value if value is not None else alias_value
    if value is None:
        raise TypeError(f"MesosSchedulerDriver needs {name} (or {alias})")
    return value


class MesosSchedulerDriver:
    """Connects a scheduler (a :class:`frameworks.Scheduler`) to a master; pymesos' signature.

    ``sched``, ``framework`` and ``master_uri`` may also be given by mesopy's
    earlier names ``scheduler``, ``framework_info`` and ``master``.
    ``use_addict`` hands callbacks ``addict.Dict`` objects; ``failover`` is
    what ``stop()`` does when not told; ``timeout`` (seconds, default a day)
    bounds how long the driver tries to (re)register before it aborts and
    calls ``error``. ``node`` (keyword only, for tests and embedding) is the
    actors Node the driver's actor runs on; by default this OS process's
    ``default_node()``.

    ``master_public_key`` (keyword only; Z85 text or ZeroMQ's public key file; default
    ``MESOPY_MASTER_PUBLIC_KEY``) turns CURVE on: the driver runs on the process's encrypted
    node and reaches only a master holding that key. ``encrypt=True`` alone does too when the
    master is a zk:// URL: the elected master's key is read from its MasterInfo.
    """

    def __init__(
        self,
        sched: Any = None,
        framework: Any = None,
        master_uri: str | None = None,
        use_addict: bool = False,
        implicit_acknowledgements: bool = True,
        principal: str | None = None,
        secret: str | None = None,
        failover: bool = False,
        timeout: float = DAY,
        *,
        scheduler: Any = None,
        framework_info: Any = None,
        master: str | None = None,
        node: Node | None = None,
        master_public_key: str | bytes | None = None,
        encrypt: bool = False,
    ) -> None:
        self.sched = _pick("sched", sched, "scheduler", scheduler)
        self.scheduler = self.sched
        framework = _pick("framework", framework, "framework_info", framework_info)
        self.framework_info = normalize_framework(framework, principal)
        self.master_uri = str(_pick("master_uri", master_uri, "master", master))
        self.master = self.master_uri
        self.use_addict = bool(use_addict)
        self.implicit_acknowledgements = bool(implicit_acknowledgements)
        self.principal = principal
        self.secret = secret
        self.failover = bool(failover)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self.timeout = float(timeout)
        self.version: str | None = None  # the master's version text, once registered
        self._zk = zk_url(self.master_uri)  # "" unless a zk:// URL: the driver's actor then follows its leader
        self._master_pid = None if self._zk else parse_master(self.master_uri)
        key = os.environ.get("MESOPY_MASTER_PUBLIC_KEY", "") if master_public_key is None else master_public_key
        self.master_public_key = key.decode() if isinstance(key, bytes) else key
        if self.master_public_key and self._master_pid is not None:
            load_public_key(self.master_public_key, "master_public_key")  # CurveError (a ValueError) now
        self.encrypt = bool(encrypt or self.master_public_key)
        if self.encrypt and self._master_pid is not None and not self.master_public_key:
            raise ValueError(f"encrypt=True needs master_public_key for master {self.master_uri!r} "
                             "(a zk:// master publishes its key)")
        if self.encrypt and node is not None and not node.public_key:
            raise ValueError("master_public_key needs a node with CURVE keys (Node(curve=...)), or no node")
        self._node = node
        self._cond = threading.Condition(threading.RLock())
        self._status = DRIVER_NOT_STARTED
        self._process: SchedulerProcess | None = None
        self._core: DriverCore | None = None
        if self.use_addict:
            dict_class(True)  # fail here, not in a callback, if addict is missing

    # --- introspection -----------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    @property
    def aborted(self) -> bool:
        """True unless the driver is running (pymesos: not started, stopped or aborted)."""
        return self._status != DRIVER_RUNNING

    @property
    def framework_id(self) -> str | None:
        """The framework id text once registered (or given in the framework info), else None."""
        core = self._core
        fid = core.framework_id if core is not None else self.framework_info.get("id", {}).get("value")
        return fid or None

    @framework_id.setter
    def framework_id(self, value: Any) -> None:
        """Set the id to register with (failover of an earlier scheduler); before ``start()``."""
        if value is None:
            self.framework_info.pop("id", None)
        else:
            self.framework_info["id"] = id_dict(value, "framework_id")

    @property
    def framework(self) -> Dict:
        """The FrameworkInfo the driver registers with (a copy)."""
        core = self._core
        return dict(core.framework if core is not None else self.framework_info)

    @property
    def connected(self) -> bool:
        core = self._core
        return core is not None and core.connected

    @property
    def pid(self) -> PID | None:
        """The driver actor's address once started."""
        process = self._process
        return process.pid if process is not None else None

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> Status:
        """Start the driver's actor, which registers with the master until it succeeds.

        A stopped or aborted driver starts again: after ``stop()`` without
        failover as a new framework, else with its framework id (a failover).
        """
        with self._cond:
            if self._status == DRIVER_RUNNING:
                return self._status
            previous, self._process = self._process, None
            self._status = DRIVER_RUNNING
        if previous is not None:
            previous.halt()
            previous.finished.wait(5.0)
        try:
            node = self._node or default_node(encrypted=self.encrypt)
            pin_configured(node, self._master_pid, self.master_public_key)
            self._core = DriverCore(dict(self.framework_info), self.implicit_acknowledgements)
            SchedulerProcess.spawn(
                node, f"scheduler({uuid.uuid4().hex[:8]})", scheduler=self.sched, driver=self, hooks=_Hooks(self),
                core=self._core, master=self._master_pid, zk=self._zk,
                principal=self.principal or self.framework_info.get("principal"), secret=self.secret)
        except BaseException:
            with self._cond:
                self._status = DRIVER_ABORTED
                self._cond.notify_all()
            raise
        _running.add(self)
        return DRIVER_RUNNING

    def stop(self, failover: bool | None = None) -> Status:
        """Unregister the framework (tear it down), or with ``failover`` only deactivate it; stop the actor.

        ``failover`` defaults to the constructor's. Returns DRIVER_STOPPED
        (DRIVER_ABORTED if the driver had been aborted).
        """
        failover = self.failover if failover is None else bool(failover)
        with self._cond:
            if self._status not in (DRIVER_RUNNING, DRIVER_ABORTED):
                return self._status
            aborted = self._status == DRIVER_ABORTED
            self._status = DRIVER_STOPPED
            self._cond.notify_all()
        process, core = self._process, self._core
        if process is not None:
            process.stop_driver(failover)
        if not failover and core is not None:
            self.framework_info.pop("id", None)  # torn down: a restart registers a new framework
        elif core is not None and core.framework_id:
            self.framework_info["id"] = {"value": core.framework_id}
        return DRIVER_ABORTED if aborted else DRIVER_STOPPED

    def abort(self) -> Status:
        """Stop delivering callbacks and sending; the actor stays until ``stop()`` (as in Mesos)."""
        with self._cond:
            if self._status != DRIVER_RUNNING:
                return self._status
            self._status = DRIVER_ABORTED
            self._cond.notify_all()
        process, core = self._process, self._core
        if core is not None and core.framework_id:
            self.framework_info["id"] = {"value": core.framework_id}
        if process is not None:
            process.abort_driver()
        return DRIVER_ABORTED

    def join(self, timeout: float | None = None) -> Status:
        """Block until the driver is stopped or aborted; return its status.

        After ``stop()``, also waits (outside the driver's own thread) for the
        actor to finish, so that the teardown has been sent when this returns.
        """
        with self._cond:
            if self._status == DRIVER_NOT_STARTED:
                return self._status
            self._cond.wait_for(lambda: self._status != DRIVER_RUNNING, timeout)
            status = self._status
        process = self._process
        if status == DRIVER_STOPPED and process is not None and not process.on_own_thread():
            process.finished.wait(5.0 if timeout is None else timeout)
        return status

    def run(self) -> Status:
        """``start()`` then ``join()``."""
        status = self.start()
        return status if status != DRIVER_RUNNING else self.join()

    def _detached(self, process: SchedulerProcess | None) -> None:
        """The actor stopped; if nobody asked it to, the driver is aborted."""
        with self._cond:
            if self._status == DRIVER_RUNNING and process is self._process:
                log.warning("scheduler_driver_process_gone", framework_id=self.framework_id)
                self._status = DRIVER_ABORTED
            self._cond.notify_all()

    # --- calls -------------------------------------------------------------------------

    def _submit(self, call: str, fn: Any) -> Status:
        with self._cond:
            status = self._status
        process = self._process
        if status != DRIVER_RUNNING or process is None:
            log.info("driver_call_dropped", call=call, status=STATUS_NAMES.get(status, status))
            return status
        process.submit(call, fn)
        return status

    def launchTasks(self, offer_ids: Any, tasks: Any, filters: Dict | None = None) -> Status:
        """Launch ``tasks`` (one dict or a list) on the offers; no tasks declines them."""
        ids = id_values(offer_ids, "offer_id")
        operations = launch_operations(normalize_tasks(tasks))
        f = normalize_filters(filters)
        return self._submit("launchTasks", lambda core: core.accept(ids, operations, f))

    def acceptOffers(self, offer_ids: Any, operations: Any, filters: Dict | None = None) -> Status:
        ids = id_values(offer_ids, "offer_id")
        ops = normalize_operations(operations)
        f = normalize_filters(filters)
        return self._submit("acceptOffers", lambda core: core.accept(ids, ops, f))

    def declineOffer(self, offer_ids: Any, filters: Dict | None = None) -> Status:
        ids = id_values(offer_ids, "offer_id")
        f = normalize_filters(filters)
        return self._submit("declineOffer", lambda core: core.decline(ids, f))

    def killTask(self, task_id: Any) -> Status:
        value = id_value(task_id, "task_id")
        return self._submit("killTask", lambda core: core.kill(value))

    def reviveOffers(self, roles: Any = None) -> Status:
        names = as_texts(roles, "roles")
        return self._submit("reviveOffers", lambda core: core.revive(names))

    def suppressOffers(self, roles: Any = None) -> Status:
        names = as_texts(roles, "roles")
        return self._submit("suppressOffers", lambda core: core.suppress(names))

    def acknowledgeStatusUpdate(self, status: Dict) -> Status:
        """Acknowledge an update received by ``statusUpdate`` (with implicit_acknowledgements=False)."""
        check_not_protobuf(status, "status")
        if not hasattr(status, "keys"):
            raise ValueError(f"status must be a TaskStatus dict, got {type(status).__name__} {status!r}")
        copy = plain(status, "status")
        return self._submit("acknowledgeStatusUpdate", lambda core: core.acknowledge(copy))

    def reconcileTasks(self, statuses: Any) -> Status:
        """Explicit reconciliation of the given statuses; an empty list asks for all (implicit)."""
        items = normalize_statuses(statuses)
        return self._submit("reconcileTasks", lambda core: core.reconcile(items))

    def sendFrameworkMessage(self, executor_id: Any, agent_id: Any, data: bytes | str) -> Status:
        """``data`` as bytes, or as base64 text (``encode_data(...)``, as pymesos code passes it)."""
        executor = id_value(executor_id, "executor_id")
        agent = id_value(agent_id, "agent_id")
        payload = bytes_from(data, "framework message data")
        return self._submit("sendFrameworkMessage", lambda core: core.framework_message(executor, agent, payload))

    def requestResources(self, requests: Any) -> Status:
        items = as_dicts(requests, "requests")
        return self._submit("requestResources", lambda core: core.request_resources(items))

    def __repr__(self) -> str:
        return f"MesosSchedulerDriver(master={self.master!r}, status={STATUS_NAMES.get(self._status)})"

