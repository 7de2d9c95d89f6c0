"""App version history (bounded, kept across a restart, gone with the app), PUT of a version
(back to that definition), PUT /v2/apps of many definitions (all or none), and resetting the
launch delay -- MarathonCore driven by hand."""

from __future__ import annotations

import pytest

from frameworks.marathon.bulk import update_apps
from frameworks.marathon.core import MarathonCore
from frameworks.marathon.effects import Revive, Save
from frameworks.marathon.errors import AppNotFound, Conflict, ValidationError
from frameworks.marathon.versions import MAX_HISTORY_BYTES, MAX_VERSIONS
from tests.unit.test_marathon_core import Harness, h  # noqa: F401  (the fixture)

APP = {"id": "/g/a", "cmd": "x", "cpus": 0.1, "mem": 32}


def _finish(h: Harness) -> None:
    for d in list(h.core.deployments.values()):
        h.core.cancel_deployment(d.id, h.now, force=True)
    h.drain()


def test_versions_listed_newest_first_bounded_and_restored(h: Harness) -> None:
    h.core.create_app(APP, h.now)
    _finish(h)
    first = h.core.apps["/g/a"]["version"]
    for i in range(MAX_VERSIONS + 5):
        h.now += 1
        h.core.update_app("/g/a", {"instances": i % 3 + 1}, h.now, partial=True, force=True)
    h.now += 1
    h.core.update_app("/g/a", {**APP, "cmd": "y"}, h.now, partial=False, force=True)
    _finish(h)
    app = h.core.apps["/g/a"]
    listing = h.core.versions.listing(app)
    assert len(listing) == MAX_VERSIONS and listing[0] == app["version"] and listing == sorted(listing, reverse=True)
    assert first not in listing and h.core.versions.at(app, first) is None  # the oldest dropped
    old = h.core.versions.at(app, listing[1])
    assert old is not None and old["cmd"] == "x" and old["version"] == listing[1]
    again = MarathonCore()
    again.load(h.store)
    assert again.versions.listing(again.apps["/g/a"]) == listing
    # back to the older definition: a new version of the app with the old cmd (a restart)
    h.now += 1
    d = h.core.update_app("/g/a", {"version": listing[1]}, h.now, partial=False, force=True)
    assert h.core.apps["/g/a"]["cmd"] == "x" and d.action == "RestartApplication"
    with pytest.raises(AppNotFound, match="does not exist in version 1999"):
        h.core.update_app("/g/a", {"version": "1999-01-01T00:00:00.000Z"}, h.now, partial=False, force=True)
    big = {**APP, "env": {"BLOB": "x" * 60_000}}  # 50 of these would not fit in a ZooKeeper node
    for i in range(10):
        h.now += 1
        h.core.update_app("/g/a", {**big, "instances": i + 1}, h.now, partial=False, force=True)
    saved = [e for e in h.drain() if isinstance(e, Save) and e.key == "versions/g/a"][-1]
    assert len(saved.value) <= MAX_HISTORY_BYTES and 1 < len(h.core.versions.listing(h.core.apps["/g/a"])) < 10
    h.core.delete_app("/g/a", h.now, force=True)
    h.tick()
    assert "/g/a" not in h.core.apps and not [k for k in h.store if k.startswith("versions/")]


def test_put_many_creates_and_changes_all_or_none(h: Harness) -> None:
    h.core.create_app(APP, h.now)
    h.drain()
    with pytest.raises(Conflict):  # /g/a's creation is still deploying
        update_apps(h.core, [{"id": "/g/b", "cmd": "z"}, {"id": "/g/a", "cmd": "y"}], h.now, force=False)
    with pytest.raises(ValidationError) as caught:
        update_apps(h.core, [{"id": "/g/b", "cmd": "z"}, {"id": "/g/a", "cpus": -1}], h.now, force=True)
    assert caught.value.details[0][0] == "/(1)/cpus"
    for bad in ([], {"id": "/g/a"}, [{"id": "/g/c", "cmd": "z"}, {"id": "g/c", "cmd": "z"}],
                [{"id": "/g/c", "cmd": "z"}, {"id": "/g/c/d", "cmd": "z"}]):
        with pytest.raises(ValidationError):
            update_apps(h.core, bad, h.now, force=True)
    assert set(h.core.apps) == {"/g/a"}  # nothing changed by the refused ones
    h.now += 1
    done = update_apps(h.core, [{"id": "/g/b", "cmd": "z", "instances": 2}, {"id": "/g/a", "cmd": "y"}],
                       h.now, force=True)
    assert [d.app_id for d in done] == ["/g/b", "/g/a"] and len({d.version for d in done}) == 1
    assert h.core.apps["/g/a"]["cmd"] == "y" and h.core.apps["/g/b"]["instances"] == 2
    assert set(h.core.deployments) == {d.id for d in done}


def test_reset_delay_revives(h: Harness) -> None:
    h.core.create_app({**APP, "backoffSeconds": 600}, h.now)
    h.drain()
    [task] = h.offer("h1")
    h.update(task["task_id"]["value"], "TASK_FAILED")
    assert h.offer("h1") == []
    h.core.reset_delay("/g/a")
    assert any(isinstance(e, Revive) for e in h.drain())
    assert len(h.offer("h1")) == 1
    with pytest.raises(AppNotFound):
        h.core.reset_delay("/nope")
