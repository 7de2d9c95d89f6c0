"""The master's completed work is capped by Mesos' flags; removed framework ids take bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from actors.master.config import ConfigError, MasterConfig
from actors.master.framework_ids import FrameworkIds
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info, update
from transport import messages as m


def _pid(i: int) -> str:
    return f"scheduler({i})@127.0.0.1:{7000 + i}"


def removed(h: Harness, n: int) -> list[str]:
    """``n`` frameworks registered and unregistered, one after another; their ids."""
    fids = []
    for i in range(n):
        fid = h.framework(_pid(i))
        h.send(_pid(i), m.UnregisterFramework(framework_id=fid))
        fids.append(fid)
    return fids


def with_tasks(h: Harness, n: int, **info: Any) -> tuple[str, str]:
    """A framework running ``n`` tasks t1..tn on one agent."""
    fid = h.framework(FW, **info)
    aid = h.agent(AGENT, resources=f"cpus:{n};mem:{128 * n}")
    (offer,) = h.offers(FW)
    h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                              operations=launch(*(task_info(f"t{i}", 1, 128) for i in range(1, n + 1)))))
    for i in range(1, n + 1):
        update(h, fid, aid, f"t{i}", "TASK_RUNNING")
    return fid, aid


def test_defaults_are_mesos() -> None:
    c = MasterConfig().validate()
    assert (c.max_completed_frameworks, c.max_completed_tasks_per_framework,
            c.max_unreachable_tasks_per_framework) == (50, 1000, 1000)


@pytest.mark.parametrize("name", ["max_completed_frameworks", "max_completed_tasks_per_framework",
                                  "max_unreachable_tasks_per_framework"])
def test_negative_caps_are_refused_naming_the_flag(name: str) -> None:
    with pytest.raises(ConfigError, match=f"--{name} must be an integer >= 0, got -1"):
        MasterConfig(**{name: -1}).validate()  # type: ignore[arg-type]


def test_completed_frameworks_are_capped_newest_kept() -> None:
    h = Harness(max_completed_frameworks=2)
    fids = removed(h, 3)
    assert [f["id"] for f in h.core.state(h.now)["completed_frameworks"]] == fids[1:]


def test_completed_tasks_per_framework_are_capped_newest_kept() -> None:
    h = Harness(max_completed_tasks_per_framework=2)
    fid, aid = with_tasks(h, 3)
    for i in (1, 2, 3):
        update(h, fid, aid, f"t{i}", "TASK_FINISHED")
    (fw,) = h.core.state(h.now)["frameworks"]
    assert [t["id"] for t in fw["completed_tasks"]] == ["t2", "t3"]


def test_unreachable_tasks_have_their_own_cap() -> None:
    h = Harness(max_unreachable_tasks_per_framework=1, max_completed_tasks_per_framework=5)
    fid, aid = with_tasks(h, 3, capabilities=[{"type": "PARTITION_AWARE"}])
    update(h, fid, aid, "t1", "TASK_FINISHED")
    out: list[Any] = []
    while aid in h.core.agents:  # no pongs: the agent is removed after --max_agent_ping_timeouts
        out += h.advance(h.config.agent_ping_timeout)
    assert sorted(u.status["task_id"]["value"] for u in of_type(out, m.StatusUpdate, FW)
                  if u.status["state"] == "TASK_UNREACHABLE") == ["t2", "t3"]
    (fw,) = h.core.state(h.now)["frameworks"]
    assert [t["id"] for t in fw["completed_tasks"]] == ["t1"]
    assert len(fw["unreachable_tasks"]) == 1 and fw["unreachable_tasks"][0]["state"] == "TASK_UNREACHABLE"


def test_removed_framework_ids_take_no_memory_and_stay_refused() -> None:
    h = Harness(max_completed_frameworks=3)
    fids = removed(h, 300)
    assert len(h.core.removed_frameworks) == 0 and len(h.core.completed_frameworks) == 3
    for i in (0, 150, 299):  # long evicted from the completed frameworks, still known as removed
        (err,) = of_type(h.send(_pid(i), m.ReregisterFramework(framework={"id": {"value": fids[i]}})),
                         m.FrameworkError)
        assert f"Framework {fids[i]} has been removed" == err.message
        (err,) = of_type(h.send(_pid(i), m.ReviveOffers(framework_id=fids[i])), m.FrameworkError)
        assert "has been removed" in err.message
    assert h.framework(_pid(400)) not in fids


def test_foreign_removed_ids_are_remembered_up_to_a_cap() -> None:
    h = Harness()
    for old in ("old-1", "old-2"):  # frameworks of an earlier master re-register, then go
        h.send(FW, m.ReregisterFramework(framework={"name": old, "id": {"value": old}}))
        h.send(FW, m.UnregisterFramework(framework_id=old))
    assert "old-1" in h.core.removed_frameworks and len(h.core.removed_frameworks) == 2
    (err,) = of_type(h.send(FW, m.ReregisterFramework(framework={"id": {"value": "old-1"}})), m.FrameworkError)
    assert "old-1" in err.message

    live: dict[str, object] = {}
    ids = FrameworkIds("M", live, max_foreign=3)
    for i in range(5):
        ids.add(f"x{i}")
    assert len(ids) == 3 and "x1" not in ids and all(f"x{i}" in ids for i in (2, 3, 4))
    first = ids.new()
    live[first] = object()
    assert first == "M-0000" and first not in ids and "M-0001" not in ids  # live; never minted
    del live[first]
    assert first in ids and "M-0" not in ids and "M-00000" not in ids  # removed; not this master's shape
    live["M-0001"] = object()  # claimed by a forged re-registration before it was minted
    assert ids.new() == "M-0002"
    with pytest.raises(ValueError, match="max_foreign must be >= 0, got -1"):
        FrameworkIds("M", live, max_foreign=-1)
