"""mesopy-chronos' Mesos scheduler: the SDK's callbacks handed to the ChronosService.

The framework registers with ``checkpoint`` and a long ``failover_timeout``,
under the framework id it stored (so after a restart it takes its tasks back),
and acknowledges each status update only after the service persisted it
(``implicit_acknowledgements=False``). When the master answers that the
framework has been removed (it was away longer than ``failover_timeout``),
the stored id is forgotten and the process ends; the next start registers a
new framework, and the old runs come back lost from reconciliation (retried).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog

from frameworks.chronos.service import ChronosService
from frameworks.interface import Scheduler

__all__ = ["ChronosScheduler", "framework_info"]

log = structlog.get_logger("mesopy.chronos")


def framework_info(name: str, user: str, role: str, failover_timeout: float, hostname: str,
                   webui_url: str, framework_id: str | None, checkpoint: bool = True) -> dict[str, Any]:
    info: dict[str, Any] = {"name": name, "user": user, "roles": [role], "failover_timeout": failover_timeout,
                            "checkpoint": checkpoint, "hostname": hostname, "webui_url": webui_url,
                            "capabilities": [{"type": "MULTI_ROLE"}]}
    if framework_id:
        info["id"] = {"value": framework_id}
    return info


class ChronosScheduler(Scheduler):
    """``failed`` is set (with ``message``) when the instance cannot go on: the master refused the
    framework, or the service failed in a callback (its store, most likely); the process then
    ends, and the next start recovers from the store (the updates it did not acknowledge come again)."""

    def __init__(self, service: ChronosService) -> None:
        self.service = service
        self.failed = threading.Event()
        self.message = ""

    def _guard(self, what: str, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as e:
            log.exception("chronos_callback_failed", callback=what)
            self.message = f"{what} failed: {e}"
            self.failed.set()

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        value = str(framework_id.get("value", "")) if isinstance(framework_id, dict) else str(framework_id)
        log.info("chronos_registered", framework_id=value)
        self._guard("registered", lambda: self.service.registered(driver, value))

    def reregistered(self, driver: Any, master_info: Any) -> None:
        log.info("chronos_reregistered")
        self._guard("reregistered", self.service.reconcile)

    def disconnected(self, driver: Any) -> None:
        log.warning("chronos_disconnected")

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        self._guard("resourceOffers", lambda: self.service.offers(driver, offers))

    def offerRescinded(self, driver: Any, offer_id: Any) -> None:
        pass

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        self._guard("statusUpdate", lambda: self.service.status_update(driver, status))

    def frameworkMessage(self, driver: Any, executor_id: Any, agent_id: Any, data: Any) -> None:
        pass

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        log.warning("chronos_agent_lost", agent_id=agent_id)

    def executorLost(self, driver: Any, executor_id: Any, agent_id: Any, status: Any) -> None:
        pass

    def error(self, driver: Any, message: str) -> None:
        log.error("chronos_framework_error", message=message)
        if "has been removed" in str(message):  # past failover_timeout: the next start registers afresh
            self.service.forget_framework_id()
        self.message = f"the master refused the framework: {message}"
        self.failed.set()
