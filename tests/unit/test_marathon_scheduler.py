"""MarathonScheduler, the shell around the core: the store writes of one callback go to the
store as one durable batch, before any launch that depends on them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from actors.ha.store_keys import encode_key
from frameworks.marathon.events import EventBus
from frameworks.marathon.scheduler import MarathonScheduler
from frameworks.state import DirectoryStore
from tests.unit.test_marathon_appdef import offer


class CountingStore(DirectoryStore):
    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.batches: list[list[str]] = []
        self.single_puts = 0

    def put(self, key: str, value: bytes) -> None:
        self.single_puts += 1
        super().put(key, value)

    def write_many(self, changes: Any) -> None:
        changes = list(changes)
        self.batches.append([k for k, _ in changes])
        super().write_many(changes)


class RecordingDriver:
    """Records the launches and what a fresh reader of the state directory saw at that instant."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.launched: list[tuple[str, bool]] = []

    def launchTasks(self, offer_ids: Any, tasks: list[dict[str, Any]]) -> None:
        on_disk = set(os.listdir(self.directory))  # a key's file: <encoded key>.v (frameworks/state.py)
        self.launched += [(t["task_id"]["value"], encode_key("tasks/" + t["task_id"]["value"]) + ".v" in on_disk)
                          for t in tasks]

    def declineOffer(self, *args: Any) -> None:
        pass

    def reviveOffers(self) -> None:
        pass


def test_an_offer_round_is_one_durable_batch_before_its_launches(tmp_path: Path) -> None:
    store = CountingStore(str(tmp_path / "marathon"))
    scheduler = MarathonScheduler(store, EventBus())
    driver = RecordingDriver(store.directory)
    scheduler.driver = driver
    try:
        scheduler.call(lambda core, now: core.create_app(
            {"id": "/big", "cmd": "sleep 1", "cpus": 0.1, "mem": 8, "instances": 30, "portDefinitions": []}, now))
        store.batches.clear()
        scheduler.resourceOffers(driver, [offer("h1", cpus=1.0), offer("h2", cpus=1.0), offer("h3", cpus=2.0)])
        assert len(driver.launched) == 30
        assert all(durable for _, durable in driver.launched), "a task launched before its record was on disk"
        assert len(store.batches) == 1 and len(store.batches[0]) == 30 and store.single_puts == 0
    finally:
        scheduler.events.close()
        store.close()
