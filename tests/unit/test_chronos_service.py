"""The ChronosService writes its state before it launches or acknowledges (a driver that reads the
store at each call), and a new service on the same store takes every run back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frameworks.chronos.service import ChronosService
from frameworks.state import DirectoryStore

NOW = 1_796_083_200.0  # 2026-12-01T00:00:00Z


class ReadingDriver:
    """Records each call with what the store held for the job at that moment."""

    def __init__(self, store: DirectoryStore) -> None:
        self.store = store
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def _seen(self) -> dict[str, Any]:
        raw = self.store.get("jobs/nightly")
        return json.loads(raw) if raw else {}

    def launchTasks(self, offer_id: Any, tasks: list[dict[str, Any]]) -> None:
        self.calls.append(("launch", tasks, self._seen()))

    def acknowledgeStatusUpdate(self, status: dict[str, Any]) -> None:
        self.calls.append(("ack", status, self._seen()))

    def declineOffer(self, offer_id: Any, filters: Any = None) -> None:
        self.calls.append(("decline", offer_id, {}))

    def __getattr__(self, name: str) -> Any:  # suppressOffers, reviveOffers, reconcileTasks, killTask
        return lambda *args: self.calls.append((name, args, {}))


OFFER = {"id": {"value": "o1"}, "agent_id": {"value": "a1"}, "hostname": "h",
         "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"},
                       {"name": "mem", "type": "SCALAR", "scalar": {"value": 1024.0}, "role": "*"},
                       {"name": "disk", "type": "SCALAR", "scalar": {"value": 1024.0}, "role": "*"}]}


def test_state_is_written_before_launch_and_acknowledgement_and_survives_a_restart(tmp_path: Path) -> None:
    store = DirectoryStore(str(tmp_path / "chronos"))
    service = ChronosService(store, clock=lambda: NOW)
    driver = ReadingDriver(store)
    service.registered(driver, "fw-1")
    service.put_job({"name": "nightly", "command": "true", "schedule": "R/2030-01-01T00:00:00Z/P1D"}, "iso8601")
    service.run_job("nightly", [])
    service.offers(driver, [OFFER])
    (kind, tasks, seen), = [c for c in driver.calls if c[0] == "launch"]
    task_id = tasks[0]["task_id"]["value"]
    assert [r["state"] for r in seen["runs"]] == ["launched"] and seen["runs"][0]["task_id"] == task_id
    service.status_update(driver, {"task_id": {"value": task_id}, "state": "TASK_RUNNING", "uuid": "u1"})
    store.close()

    again = DirectoryStore(str(tmp_path / "chronos"))  # a restart: the same store, a new service
    restarted = ChronosService(again, clock=lambda: NOW + 5)
    restarted.load()
    assert restarted.framework_id() == "fw-1"
    driver = ReadingDriver(again)
    restarted.registered(driver, "fw-1")
    (_, reconciled, _), = [c for c in driver.calls if c[0] == "reconcileTasks"]
    assert [s["task_id"]["value"] for s in reconciled[0]] == [task_id]
    restarted.status_update(driver, {"task_id": {"value": task_id}, "state": "TASK_FINISHED", "uuid": "u2"})
    (_, status, seen), = [c for c in driver.calls if c[0] == "ack"]
    assert status["uuid"] == "u2" and seen["job"]["successCount"] == 1 and seen["runs"] == []
    restarted.status_update(driver, {"task_id": {"value": task_id}, "state": "TASK_FINISHED", "uuid": "u2"})
    assert restarted.job("nightly")["successCount"] == 1  # a redelivered update counts once


def test_a_removed_framework_id_is_forgotten(tmp_path: Path) -> None:
    from frameworks.chronos.scheduler import ChronosScheduler

    store = DirectoryStore(str(tmp_path / "chronos"))
    service = ChronosService(store, clock=lambda: NOW)
    scheduler = ChronosScheduler(service)
    scheduler.registered(ReadingDriver(store), {"value": "fw-1"}, {})
    scheduler.error(None, "Framework fw-0 is not authorized")
    assert service.framework_id() == "fw-1" and scheduler.failed.is_set()
    scheduler.error(None, "Framework fw-1 has been removed")
    assert service.framework_id() is None


class BrokenStore(DirectoryStore):
    def put(self, key: str, value: bytes) -> None:
        raise OSError(f"disk full writing {key}")


def test_a_store_that_fails_in_a_callback_ends_the_instance_without_acknowledging(tmp_path: Path) -> None:
    from frameworks.chronos.scheduler import ChronosScheduler

    store = BrokenStore(str(tmp_path / "chronos"))
    service = ChronosService(store, clock=lambda: NOW)
    scheduler = ChronosScheduler(service)
    driver = ReadingDriver(store)
    service.runner.put_job({"name": "x", "command": "true", "schedule": "R/2030-01-01T00:00:00Z/P1D"})
    run = service.runner.trigger("x", NOW)
    assert run is not None
    service.runner.launched(run.task_id, "a1", NOW)
    scheduler.statusUpdate(driver, {"task_id": {"value": run.task_id}, "state": "TASK_FINISHED", "uuid": "u"})
    assert scheduler.failed.is_set() and "disk full" in scheduler.message
    assert [c for c in driver.calls if c[0] == "ack"] == []  # the update comes again after a restart
    assert service.runner.take_dirty() == {"x"}  # and the job is still to be written
