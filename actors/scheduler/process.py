"""The scheduler driver's actor: talks to the master, calls the framework's Scheduler.

A thin shell around :class:`actors.scheduler.state.DriverCore`. It registers
(and re-registers after a disconnection) with backoff, links to the master,
turns master messages into Scheduler callbacks, one at a time on this actor's
thread, and sends what the driver's methods ask for (they reach this thread
through :meth:`submit`, so they may be called from any thread, callbacks
included).

A callback that raises aborts the driver, as Mesos' Python bindings do (their
proxy scheduler prints the error and calls ``driver.abort()``); the event
``scheduler_callback_failed`` carries the traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from actors.clock import Timer
from actors.entitlement import Entitlements, only_from
from actors.master_keys import pin_leader, pin_redirect
from actors.ha import Leader, LeaderDetector
from actors.node import Node
from actors.process import Process
from actors.scheduler.state import DriverCore, Effects, status_for_callback
from actors.security.authenticating import AuthenticatingMixin
from transport.messages import (
    AgentLost,
    ExecutorToFramework,
    ExitedExecutor,
    FrameworkError,
    FrameworkRegistered,
    FrameworkReregistered,
    MasterRedirect,
    RescindResourceOffer,
    ResourceOffers,
    StatusUpdate,
)
from transport.pid import PID

__all__ = ["FROM_MASTER", "DriverHooks", "SchedulerProcess"]

Dict = dict[str, Any]
FROM_MASTER: tuple[type, ...] = (
    FrameworkRegistered, FrameworkReregistered, ResourceOffers, RescindResourceOffer, StatusUpdate,
    ExecutorToFramework, AgentLost, ExitedExecutor, FrameworkError, MasterRedirect,
)


class DriverHooks(Protocol):
    """What the process needs from the public driver object (any thread may own it)."""

    def running(self) -> bool:
        """True while the driver is neither stopped nor aborted."""

    def abort(self) -> Any:
        """Abort the driver (called after a FrameworkError or a failed callback)."""

    def attached(self, process: SchedulerProcess) -> None:
        """The process exists (called from its constructor)."""

    def registered(self, master_info: Dict) -> None:
        """Registered (or re-registered) with a master that sent this MasterInfo."""

    def detached(self) -> None:
        """The process has stopped, for whatever reason."""

    @property
    def shape(self) -> Callable[[Any], Any]:
        """Turns each callback argument into what the scheduler is handed (v1 JSON shapes, addict)."""

    @property
    def timeout(self) -> float:
        """Seconds to try (re)registering before the driver aborts."""


class SchedulerProcess(AuthenticatingMixin, Process):
    """``scheduler(<8 hex>)``: one per MesosSchedulerDriver (per start)."""

    use_daemon_thread = True  # a script that never calls stop() still exits

    def __init__(
        self,
        node: Node,
        name: str,
        *,
        scheduler: Any,
        driver: Any,
        hooks: DriverHooks,
        core: DriverCore,
        master: PID | None,
        zk: str = "",
        principal: str | None = None, secret: str | None = None,  # authenticates as principal when given a secret
    ) -> None:
        super().__init__(node, name)
        self._credential = (principal, secret)
        self.scheduler = scheduler
        self.driver = driver
        self.hooks = hooks
        self.core = core
        self.master = master  # None until the detector of ``zk`` (a zk:// URL) names a leader
        self.zk = zk
        self.detector = LeaderDetector(zk, lambda leader: self.run(self._leader_detected, leader)) if zk else None
        self._linked = False
        self._timer: Timer | None = None
        self._aborted = False
        self._deadline: Timer | None = None
        self._thread_ident: int | None = None
        self.finished = threading.Event()  # set once stopped and unregistered from the node
        # Events only from the current master (one shared mechanism: actors/entitlement.py).
        from_master = only_from(lambda: str(self.master) if self.master else None, "not_current_master")
        self.entitlements = Entitlements("scheduler_driver", {t: from_master for t in FROM_MASTER})
        hooks.attached(self)

    # --- life cycle ---------------------------------------------------------

    def initialize(self) -> None:
        self._thread_ident = threading.get_ident()
        self.install(FrameworkRegistered, self._registered)
        self.install(FrameworkReregistered, self._reregistered)
        self.install(ResourceOffers, self._offers)
        self.install(RescindResourceOffer, self._rescind)
        self.install(StatusUpdate, self._status_update)
        self.install(ExecutorToFramework, self._framework_message)
        self.install(AgentLost, self._agent_lost)
        self.install(ExitedExecutor, self._executor_lost)
        self.install(FrameworkError, self._error)
        self.install(MasterRedirect, self._redirected)
        self._install_authentication(*self._credential)
        self.log.info("scheduler_driver_started", master=str(self.master) if self.master else self.zk,
                      framework=self.core.framework.get("name"))
        if self.detector is not None:
            self.detector.start()  # the leader comes to _leader_detected
        self._arm_deadline()
        self._attempt()

    def finalize(self) -> None:
        if self.detector is not None:
            self.detector.stop()
        self.log.info("scheduler_driver_stopped", framework_id=self.core.framework_id)

    def on_stop(self) -> None:
        try:
            super().on_stop()
        finally:
            self._finish()

    def on_failure(self, *exc: Any) -> None:
        try:
            super().on_failure(*exc)
        finally:
            self._finish()

    def _finish(self) -> None:
        if not self.finished.is_set():
            self.finished.set()
            self.hooks.detached()

    def on_own_thread(self) -> bool:
        """True when called from this actor's thread (e.g. inside a callback)."""
        return self._thread_ident == threading.get_ident()

    # --- registration ---------------------------------------------------------

    def _attempt(self) -> None:
        """Send one (re)registration and arm the next; stops once connected."""
        self._timer = None
        if self._aborted or not self.hooks.running() or self.core.connected or self.master is None:
            return
        if not self._linked:
            self._linked = True
            self.link(self.master)
        if self._authenticate_before_registering():
            self._timer = self.delay(self.core.next_backoff(), self._attempt)
            return
        msg = self.core.registration()
        backoff = self.core.next_backoff()
        event = "framework_registering" if self.core.attempts == 1 else "framework_registration_retry"
        self.log.info(event, master=str(self.master), message=type(msg).__name__, attempt=self.core.attempts,
                      next_retry_in=backoff, framework_id=self.core.framework_id or None)
        self._timer = self.delay(backoff, self._attempt)
        self.send(self.master, msg)

    def _authenticated(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._attempt()

    def _master_unproven(self, message: str) -> None:
        if not self._aborted and self.hooks.running():
            self.hooks.abort()
            self._call("error", f"Master refused authentication: {message}")

    def _arm_deadline(self) -> None:
        if self._deadline is None:
            self._deadline = self.delay(self.hooks.timeout, self._deadline_passed)

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.core.connected or self._aborted or not self.hooks.running():
            return
        message = f"could not register with master {self.master} within {self.hooks.timeout:g} s"
        self.log.error("framework_registration_timeout", master=str(self.master), timeout=self.hooks.timeout)
        self.hooks.abort()
        self._call("error", message)

    def exited(self, pid: PID) -> None:
        if pid != self.master:
            return
        self._linked = False
        self._forget_authentication()  # a master seen again authenticates us again
        if self._aborted or not self.hooks.running():
            return
        self._arm_deadline()
        was_connected = self.core.disconnected()
        if self._timer is None:  # armed before the callback: what the scheduler does there cannot delay it
            self._timer = self.delay(self.core.next_backoff(), self._attempt)
        if was_connected:
            self.log.warning("master_disconnected", master=str(pid), framework_id=self.core.framework_id)
            self._callback("disconnected")

    def _leader_detected(self, leader: Leader | None) -> None:
        pin_leader(self.node, leader)
        self.new_master(PID.parse(leader.pid) if leader is not None else None, "elected")

    def _redirected(self, sender: PID, msg: MasterRedirect) -> None:
        if self._from_master(sender, msg):
            self.log.info("registration_redirected", master=str(sender), leader=msg.leader or None)
            if msg.leader and self.detector is None:  # with zk:// the election alone decides
                pin_redirect(self.node, sender, msg.leader)
                self.new_master(PID.parse(msg.leader), "redirect")

    def new_master(self, master: PID | None, why: str) -> None:
        """The leading master changed (None: none is elected): register with it, as after a disconnection."""
        if master == self.master or self._aborted or not self.hooks.running():
            return
        self.log.info("master_changed", old=str(self.master), new=str(master), why=why)
        self.master, self._linked = master, False
        self._forget_authentication()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        was_connected = self.core.disconnected()
        self._attempt()
        if was_connected:
            self._callback("disconnected")

    # --- from the master -------------------------------------------------------

    def _from_master(self, sender: PID, msg: object) -> bool:
        if self._aborted or not self.hooks.running():
            self.log.debug("message_ignored", reason="driver_not_running", type=type(msg).__name__)
            return False
        return self.entitlements.allows(str(sender), msg)  # counted and logged (bounded) when not

    def _registered(self, sender: PID, msg: FrameworkRegistered) -> None:
        self._on_registered(sender, msg, "registered")

    def _reregistered(self, sender: PID, msg: FrameworkReregistered) -> None:
        self._on_registered(sender, msg, "reregistered")

    def _on_registered(self, sender: PID, msg: FrameworkRegistered | FrameworkReregistered, callback: str) -> None:
        if not self._from_master(sender, msg):
            return
        if not self.core.registered(msg.framework_id):
            self.log.info("message_ignored", reason="already_connected", type=type(msg).__name__)
            return
        for timer in (self._timer, self._deadline):
            if timer is not None:
                timer.cancel()
        self._timer = self._deadline = None
        self.hooks.registered(dict(msg.master_info))
        self.log.info("framework_" + callback, framework_id=msg.framework_id, master=str(sender))
        if callback == "registered":
            self._callback("registered", {"value": msg.framework_id}, dict(msg.master_info))
        else:
            self._callback("reregistered", dict(msg.master_info))

    def _connected_from_master(self, sender: PID, msg: object) -> bool:
        if not self._from_master(sender, msg):
            return False
        if not self.core.connected:
            self.log.info("message_ignored", reason="disconnected", type=type(msg).__name__)
            return False
        return True

    def _offers(self, sender: PID, msg: ResourceOffers) -> None:
        if self._connected_from_master(sender, msg):
            self._callback("resourceOffers", self.core.offers_received(msg.offers))

    def _rescind(self, sender: PID, msg: RescindResourceOffer) -> None:
        if self._connected_from_master(sender, msg):
            self.core.rescinded(msg.offer_id)
            self._callback("offerRescinded", {"value": msg.offer_id})

    def _status_update(self, sender: PID, msg: StatusUpdate) -> None:
        if not self._connected_from_master(sender, msg):
            return
        status = status_for_callback(msg)
        if self._callback("statusUpdate", status) and self.hooks.running():
            self._apply(self.core.implicit_ack(status))

    def _framework_message(self, sender: PID, msg: ExecutorToFramework) -> None:
        if self._connected_from_master(sender, msg):
            self._callback("frameworkMessage", {"value": msg.executor_id}, {"value": msg.agent_id}, msg.data)

    def _agent_lost(self, sender: PID, msg: AgentLost) -> None:
        if self._connected_from_master(sender, msg):
            self._callback("slaveLost", {"value": msg.agent_id})

    def _executor_lost(self, sender: PID, msg: ExitedExecutor) -> None:
        if self._connected_from_master(sender, msg):
            self._callback("executorLost", {"value": msg.executor_id}, {"value": msg.agent_id}, msg.status)

    def _error(self, sender: PID, msg: FrameworkError) -> None:
        if not self._from_master(sender, msg):
            return
        self.log.error("framework_error", message=msg.message, framework_id=self.core.framework_id)
        self.hooks.abort()  # as Mesos: abort first, then tell the scheduler
        self._call("error", self._authentication_note(msg.message))

    # --- callbacks -------------------------------------------------------------

    def _callback(self, name: str, *args: Any) -> bool:
        """Call ``scheduler.<name>(driver, *args)`` if the driver still runs; False if not called or it raised."""
        if self._aborted or not self.hooks.running():
            self.log.debug("callback_skipped", callback=name, reason="driver_not_running")
            return False
        return self._call(name, *args)

    def _call(self, name: str, *args: Any) -> bool:
        fn = getattr(self.scheduler, name, None)
        if fn is None:
            return True
        try:
            fn(self.driver, *[self.hooks.shape(a) for a in args])
        except Exception as e:
            self.log.exception("scheduler_callback_failed", callback=name, error=repr(e))
            self.hooks.abort()
            return False
        return True

    # --- from the driver's methods (any thread) ---------------------------------

    def submit(self, call: str, fn: Callable[[DriverCore], Effects]) -> None:
        """Run ``fn(core)`` on this actor's thread and carry out its effects."""
        self.run(self._submitted, call, fn)

    def _submitted(self, call: str, fn: Callable[[DriverCore], Effects]) -> None:
        if self._aborted or not self.hooks.running():
            self.log.info("driver_call_dropped", call=call, reason="driver_not_running")
            return
        effects = fn(self.core)
        if not effects.send and not self.core.connected:
            self.log.info("driver_call_dropped", call=call, reason="master_disconnected")
        self._apply(effects)

    def _apply(self, effects: Effects) -> None:
        master = self.master
        if master is not None:
            for msg in effects.send:
                self.send(master, msg)
        for status in effects.deliver:
            self.log.info("task_lost_locally", task_id=status["task_id"], state=status["state"])
            self._callback("statusUpdate", status)

    def stop_driver(self, failover: bool) -> None:
        """Any thread: teardown (or deactivate, for failover) and stop this actor."""
        self.run(self._stop_framework, failover)

    def _stop_framework(self, failover: bool) -> None:
        self.log.info("framework_stopping", framework_id=self.core.framework_id, failover=failover)
        self._apply(self.core.stop(failover))
        self.stop()

    def halt(self) -> None:
        """Any thread: stop this actor without telling the master anything."""
        self._aborted = True
        self.run(self.stop)

    def abort_driver(self) -> None:
        """Any thread: no more callbacks; tell a connected master to deactivate the framework."""
        self._aborted = True  # read on this actor's thread; a plain bool store is atomic
        self.run(self._abort_framework)

    def _abort_framework(self) -> None:
        self.log.warning("framework_aborted", framework_id=self.core.framework_id)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._apply(self.core.abort())
