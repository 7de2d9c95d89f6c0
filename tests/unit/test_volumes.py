"""Persistent volumes (pure, and the agent's directories): CREATE / DESTROY in acceptOffers,
a free volume offered back with its id, only a task naming it may use it, the agent's
checkpoint and links (after Mesos' persistent_volume_tests.cpp)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from actors.agent.checkpointed import agent_total, link_volumes, report, sync_volume_dirs
from actors.master.volumes import checkpoint_dicts
from actors.resources import Resources
from actors.volumes import VolumeError, parse_volume, volume_dir
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info, update
from tests.unit.test_reservations import MULTI, accept, offer_of, reserve_op, reserved
from transport import messages as m

R = Resources.parse
STACK = [{"type": "DYNAMIC", "role": "eng", "principal": "ops"}]


def volume(pid: str = "db", size: float = 64, path: str = "data") -> dict[str, Any]:
    return {"name": "disk", "type": "SCALAR", "scalar": {"value": size}, "reservations": STACK,
            "disk": {"persistence": {"id": pid, "principal": "ops"}, "volume": {"container_path": path, "mode": "RW"}}}


def create(*vols: dict[str, Any], kind: str = "CREATE") -> dict[str, Any]:
    return {"type": kind, kind.lower(): {"volumes": list(vols)}}


def with_volume(h: Harness, fid: str) -> dict[str, Any]:
    """Reserve disk:100 and create volume db (64) of it; the next offer."""
    accept(h, fid, offer_of(h), reserve_op(reserved("disk:100", ("eng", "ops"))), create(volume()))
    return offer_of(h)


def setup() -> tuple[Harness, str, str]:
    h = Harness()
    fid = h.framework(FW, roles=["eng"], capabilities=MULTI, principal="ops")
    aid = h.agent(AGENT, "cpus:4;mem:1024;disk:1000")
    return h, fid, aid


def vol_dicts(offer: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in offer["resources"] if "disk" in d]


def test_a_volume_is_offered_back_with_its_id_after_its_task_ends() -> None:
    h, fid, aid = setup()
    offer = with_volume(h, fid)
    (vol,) = vol_dicts(offer)
    assert vol["disk"]["persistence"]["id"] == "db" and vol["scalar"]["value"] == 64
    assert vol["reservations"] == STACK and vol["allocation_info"] == {"role": "eng"}
    plain = [d for d in offer["resources"] if d["name"] == "disk" and "disk" not in d and d["role"] == "eng"]
    assert [d["scalar"]["value"] for d in plain] == [36]
    task = task_info("t1", 1, 128)
    task["resources"].append(vol)
    out = accept(h, fid, offer, *launch(task))
    assert [t.task["task_id"]["value"] for t in of_type(out, m.RunTask)] == ["t1"]
    assert h.core.agents[aid].volumes["db"].task == (fid, "t1")
    assert vol_dicts(offer_of(h)) == []  # in use: not offered
    update(h, fid, aid, "t1", "TASK_FINISHED")
    assert [d["disk"]["persistence"]["id"] for d in vol_dicts(offer_of(h))] == ["db"]


def test_a_task_may_use_a_volume_only_by_naming_it() -> None:
    h, fid, aid = setup()
    offer = with_volume(h, fid)
    # 37 plain reserved disk would need 1 of the volume's 64: refused
    greedy = task_info("t1", 1, 128, resources=[*task_info("x")["resources"], *reserved("disk:37", ("eng", "ops"))])
    out = accept(h, fid, offer, *launch(greedy))
    (error,) = of_type(out, m.StatusUpdate, FW)
    assert error.status["state"] == "TASK_ERROR" and "outside their volumes" in error.status["message"]
    offer = offer_of(h)
    other = dict(volume("nope"))
    task = task_info("t2", 1, 128)
    task["resources"].append(other)
    out = accept(h, fid, offer, *launch(task))
    (error,) = of_type(out, m.StatusUpdate, FW)
    assert "volume 'nope', which is not in the offers" in error.status["message"]


def test_a_task_naming_a_volume_on_an_agent_without_volumes_is_refused() -> None:
    h, fid, aid = setup()
    task = task_info("t1", 1, 128)
    task["resources"].append(dict(volume(), reservations=[], role="*"))
    (error,) = of_type(accept(h, fid, offer_of(h), *launch(task)), m.StatusUpdate, FW)
    assert error.status["state"] == "TASK_ERROR" and "volume 'db', which is not in the offers" in error.status["message"]


def test_create_and_destroy_are_validated() -> None:
    h, fid, aid = setup()
    offer = offer_of(h)
    # no dynamic reservation of disk yet: refused, the accept goes on
    out = accept(h, fid, offer, create(volume()))
    assert of_type(out, m.CheckpointResources) == [] and h.core.agents[aid].volumes == {}
    offer = with_volume(h, fid)
    out = accept(h, fid, offer, create(volume("db")))  # the same id again
    assert of_type(out, m.CheckpointResources) == []
    with pytest.raises(VolumeError, match="relative container_path"):
        parse_volume(volume(path="/abs"))
    with pytest.raises(VolumeError, match="reserved disk"):
        parse_volume(dict(volume(), reservations=[], role="*"))
    offer = offer_of(h)
    out = accept(h, fid, offer, create(volume(), kind="DESTROY"))
    (ckpt,) = of_type(out, m.CheckpointResources, AGENT)
    assert [d for d in ckpt.resources if "disk" in d] == []
    assert h.core.agents[aid].volumes == {}
    assert Resources.from_dicts(ckpt.resources) == R("disk(eng):100")


def test_unreserving_a_volume_is_refused() -> None:
    h, fid, aid = setup()
    offer = with_volume(h, fid)
    (vol,) = vol_dicts(offer)
    out = accept(h, fid, offer, reserve_op([vol], "UNRESERVE"),
                 reserve_op(reserved("disk:37", ("eng", "ops")), "UNRESERVE"))
    assert of_type(out, m.CheckpointResources) == []
    assert h.core.agents[aid].total.scalar("disk") == 1000


def test_the_checkpoint_keeps_volumes_and_the_agent_its_directories(tmp_path: Any) -> None:
    h, fid, aid = setup()
    with_volume(h, fid)
    items = checkpoint_dicts(h.core.agents[aid])
    assert Resources.from_dicts(items) == R("disk(eng):100")
    work = str(tmp_path)
    total = agent_total(R("cpus:4;mem:1024;disk:1000"), items)
    assert total == R("cpus:4;mem:1024;disk:900;disk(eng):100")
    created, removed = sync_volume_dirs(work, [], items)
    path = volume_dir(work, "eng", "db")
    assert created == [path] and removed == [] and os.path.isdir(path)
    sandbox = os.path.join(work, "sandbox")
    os.makedirs(sandbox)
    task = task_info("t1")
    task["resources"].append(volume())
    assert link_volumes(work, sandbox, task, items) == [os.path.join(sandbox, "data")]
    with open(os.path.join(sandbox, "data", "f"), "w") as f:
        f.write("kept")
    assert open(os.path.join(path, "f")).read() == "kept"
    with pytest.raises(VolumeError, match="not on this agent"):
        link_volumes(work, sandbox, {"resources": [volume("other")]}, items)
    # a master restarted learns the volume from the agent's registration
    h2 = Harness()
    h2.send(AGENT, m.ReregisterAgent(agent={"hostname": "h", "id": {"value": "S1"},
                                            "resources": report(total, items)}))
    assert list(h2.core.agents["S1"].volumes) == ["db"]
    assert h2.core.agents["S1"].total == total
    plain = [d for d in items if "disk" not in d]
    assert sync_volume_dirs(work, items, plain) == ([], [path]) and not os.path.exists(path)


def test_the_operator_creates_and_destroys_volumes_of_free_disk() -> None:
    from actors.master.operations import operator_volumes

    h, fid, aid = setup()
    accept(h, fid, offer_of(h), reserve_op(reserved("disk:100", ("eng", "ops"))))
    offer = offer_of(h)  # holds all the agent's disk: the create rescinds it first
    out: list[Any] = []
    assert operator_volumes(h.core, aid, [volume()], True, h.now, out) == ["db"]
    h.apply(out)
    assert [r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)] == [offer["id"]["value"]]
    assert [d for d in of_type(out, m.CheckpointResources, AGENT)[0].resources if "disk" in d]
    offer = offer_of(h)
    assert [d["disk"]["persistence"]["id"] for d in vol_dicts(offer)] == ["db"]
    out = []
    assert operator_volumes(h.core, aid, [volume()], False, h.now, out) == ["db"]
    assert [r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)] == [offer["id"]["value"]]
    with pytest.raises(VolumeError, match="is not on agent"):
        operator_volumes(h.core, aid, [volume()], False, h.now, [])
    with pytest.raises(VolumeError, match="needs dynamically reserved disk"):
        operator_volumes(h.core, aid, [volume(size=500)], True, h.now, [])
