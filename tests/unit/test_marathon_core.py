"""MarathonCore driven by hand: offers, status updates and ticks with a manual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from frameworks.marathon.core import MarathonCore
from frameworks.marathon.effects import Decline, Event, Kill, Launch, Reconcile, Remove, Save
from frameworks.marathon.errors import Conflict
from tests.unit.test_marathon_appdef import offer


class Harness:
    def __init__(self) -> None:
        self.core = MarathonCore()
        self.now = 1000.0
        self.store: dict[str, bytes] = {}
        self.effects: list[Any] = []

    def drain(self) -> list[Any]:
        out, self.core.outbox = self.core.outbox, []
        for e in out:
            if isinstance(e, Save):
                self.store[e.key] = e.value
            elif isinstance(e, Remove):
                self.store.pop(e.key, None)
        self.effects.extend(out)
        return out

    def offer(self, *hosts: str) -> list[dict[str, Any]]:
        self.core.offers([offer(h) for h in hosts], self.now)
        return [t for e in self.drain() if isinstance(e, Launch) for t in e.tasks]

    def update(self, task_id: str, state: str, **extra: Any) -> None:
        self.core.status({"task_id": {"value": task_id}, "state": state, **extra}, self.now)
        self.drain()

    def tick(self) -> list[Any]:
        self.core.tick(self.now)
        return self.drain()

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e.data for e in self.effects if isinstance(e, Event) and e.data["eventType"] == kind]


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_create_launches_instances_unique_per_host_and_finishes(h: Harness) -> None:
    app, deployment = h.core.create_app({"id": "/web", "cmd": "serve", "cpus": 0.1, "mem": 32, "instances": 3,
                                         "constraints": [["hostname", "UNIQUE"]]}, h.now)
    h.drain()
    assert "apps/web" in h.store and f"deployments/{deployment.id}" in h.store
    tasks = h.offer("h1", "h2")
    assert sorted(t["agent_id"]["value"] for t in tasks) == ["a-h1", "a-h2"]  # one per host
    assert all(f"tasks/{t['task_id']['value']}" in h.store for t in tasks)  # saved before launch
    assert h.offer("h1") == []  # UNIQUE holds
    assert isinstance([e for e in h.effects if isinstance(e, Decline)][-1], Decline)
    tasks += h.offer("h3")
    for t in tasks:
        h.update(t["task_id"]["value"], "TASK_RUNNING")
    h.tick()
    assert h.core.deployments == {} and h.events("deployment_success")
    assert f"deployments/{deployment.id}" not in h.store


def test_failed_task_is_replaced_after_backoff(h: Harness) -> None:
    h.core.create_app({"id": "/a", "cmd": "x", "cpus": 0.1, "mem": 32, "backoffSeconds": 10}, h.now)
    h.drain()
    [task] = h.offer("h1")
    h.update(task["task_id"]["value"], "TASK_RUNNING")
    h.update(task["task_id"]["value"], "TASK_FAILED", message="exit 1")
    assert h.core.failures["/a"]["state"] == "TASK_FAILED"
    assert h.offer("h1") == []  # the delay runs
    h.now += 10.5
    assert len(h.offer("h1")) == 1


def test_scale_down_kills_youngest_and_kill_with_scale(h: Harness) -> None:
    h.core.create_app({"id": "/a", "cmd": "x", "cpus": 0.1, "mem": 32, "instances": 3,
                       "constraints": [["hostname", "UNIQUE"]]}, h.now)
    h.drain()
    tasks = []
    for host in ("h1", "h2", "h3"):
        h.now += 1
        tasks += h.offer(host)
    ids = [t["task_id"]["value"] for t in tasks]
    for t in ids:
        h.update(t, "TASK_RUNNING")
    h.tick()
    h.core.update_app("/a", {"instances": 1}, h.now, partial=True, force=False)
    kills = [e.task_id for e in h.tick() if isinstance(e, Kill)]
    assert kills == [ids[2], ids[1]]  # youngest first
    for t in kills:
        h.update(t, "TASK_KILLED")
    h.tick()
    assert h.core.deployments == {} and h.core.delays.ready_at(h.core.apps["/a"]) == 0.0  # kills are no failures
    killed, _ = h.core.kill_tasks([ids[0]], h.now, scale=True)
    assert h.core.apps["/a"]["instances"] == 0 and [t.id for t in killed] == [ids[0]]


def test_second_deployment_conflicts_unless_forced_and_rollback(h: Harness) -> None:
    h.core.create_app({"id": "/a", "cmd": "x", "cpus": 0.1, "mem": 32}, h.now)
    h.drain()
    with pytest.raises(Conflict) as caught:
        h.core.update_app("/a", {"instances": 2}, h.now, partial=True, force=False)
    assert caught.value.status == 409 and caught.value.deployments
    with pytest.raises(Conflict):
        h.core.create_app({"id": "/a", "cmd": "y"}, h.now)
    forced = h.core.update_app("/a", {"instances": 2}, h.now, partial=True, force=True)
    assert list(h.core.deployments) == [forced.id]
    rollback = h.core.cancel_deployment(forced.id, h.now, force=False)
    assert rollback is not None and h.core.apps["/a"]["instances"] == 1


def test_rolling_upgrade_never_below_minimum_health(h: Harness) -> None:
    hc = [{"protocol": "MESOS_TCP", "portIndex": 0}]
    h.core.create_app({"id": "/a", "cmd": "v1", "cpus": 0.1, "mem": 32, "instances": 4, "healthChecks": hc,
                       "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0}}, h.now)
    h.drain()
    for t in h.offer("h1", "h2", "h3", "h4"):
        h.update(t["task_id"]["value"], "TASK_RUNNING", healthy=True)
    h.tick()
    assert not h.core.deployments
    h.now += 1
    h.core.update_app("/a", {"cmd": "v2"}, h.now, partial=True, force=False)
    h.drain()
    for _ in range(10):
        for e in h.tick():
            if isinstance(e, Kill):
                h.update(e.task_id, "TASK_KILLED")
        healthy = [t for t in h.core.tasks.values() if t.ready(True) and not t.killing]
        assert len(healthy) >= 2
        for t in h.offer("h1", "h2", "h3", "h4"):
            h.update(t["task_id"]["value"], "TASK_RUNNING", healthy=True)
        if not h.core.deployments:
            break
    assert not h.core.deployments
    commands = {json.loads(h.store["apps/a"])["cmd"]}
    assert commands == {"v2"} and len(h.core.tasks) == 4
    config = h.core.apps["/a"]["versionInfo"]["lastConfigChangeAt"]
    assert all(t.config_version == config for t in h.core.tasks.values())


def test_delete_kills_then_removes(h: Harness) -> None:
    h.core.create_app({"id": "/g/a", "cmd": "x", "cpus": 0.1, "mem": 32}, h.now)
    h.drain()
    [task] = h.offer("h1")
    h.update(task["task_id"]["value"], "TASK_RUNNING")
    h.core.delete_app("/g/a", h.now, force=True)
    kills = [e for e in h.tick() if isinstance(e, Kill)]
    assert [k.task_id for k in kills] == [task["task_id"]["value"]]
    h.update(task["task_id"]["value"], "TASK_KILLED")
    h.tick()
    assert "/g/a" not in h.core.apps and "apps/g/a" not in h.store and h.events("app_terminated_event")


def test_restart_from_store_and_reconcile(h: Harness) -> None:
    h.core.registered("fw-1")
    h.core.create_app({"id": "/a", "cmd": "x", "cpus": 0.1, "mem": 32}, h.now)
    h.drain()
    [task] = h.offer("h1")
    h.update(task["task_id"]["value"], "TASK_RUNNING")
    again = MarathonCore()
    again.load(h.store)
    assert again.framework_id == "fw-1" and list(again.tasks) == [task["task_id"]["value"]]
    again.registered("fw-1")
    reconciles = [e for e in again.outbox if isinstance(e, Reconcile)]
    assert reconciles[0].statuses[0]["task_id"]["value"] == task["task_id"]["value"]
    assert reconciles[1].statuses == []
    again.status({"task_id": {"value": task["task_id"]["value"]}, "state": "TASK_RUNNING"}, h.now)
    assert again.tasks[task["task_id"]["value"]].state == "TASK_RUNNING"  # told again by reconciliation
    assert not again.demand(again.apps["/a"])  # counted: nothing to launch
    again.outbox.clear()
    again.kill_tasks([task["task_id"]["value"]], h.now, scale=False)
    third = MarathonCore()
    third.load({**h.store, **{e.key: e.value for e in again.outbox if isinstance(e, Save)}})
    third.registered("fw-1")  # the kill may have died with its instance: it is sent again
    assert [e.task_id for e in third.outbox if isinstance(e, Kill)] == [task["task_id"]["value"]]
    again.outbox.clear()
    again.status({"task_id": {"value": "stranger.1"}, "state": "TASK_RUNNING", "agent_id": {"value": "a"}}, h.now)
    assert [type(e) for e in again.outbox] == [Kill]  # not ours: killed
