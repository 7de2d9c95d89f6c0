"""Dynamic reservations (pure): the reservation stack format, RESERVE / UNRESERVE in
acceptOffers as Mesos validates them, the allocator's view, refinement, what outlives
the framework, and the agent's checkpoint (after Mesos' reservation_tests.cpp)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agent.checkpointed import agent_total, load_checkpointed, report, save_checkpointed
from actors.allocator import AllocatorCore, AllocatorError
from actors.master.operations import operator_commit, operator_plan
from actors.reservations import DynamicReservations, ReservationError, reserve_conversions, unreserve_conversions
from actors.resources import Resources
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from transport import messages as m

R = Resources.parse
MULTI = [{"type": "MULTI_ROLE"}]


def reserved(text: str, *stack: tuple[str, str]) -> list[dict[str, Any]]:
    """Resource dicts of ``text`` with the reservation stack ``(role, principal)...``."""
    entries = [{"type": "DYNAMIC", "role": role, **({"principal": p} if p else {})} for role, p in stack]
    return [dict(d, reservations=entries) for d in (
        {k: v for k, v in x.items() if k != "role"} for x in R(text).to_dicts())]


def reserve_op(items: list[dict[str, Any]], kind: str = "RESERVE") -> dict[str, Any]:
    return {"type": kind, kind.lower(): {"resources": items}}


def offer_of(h: Harness) -> dict[str, Any]:
    (offer,) = h.offers(FW)
    return offer


def accept(h: Harness, fid: str, offer: dict[str, Any], *ops: dict[str, Any]) -> list[Any]:
    return h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=list(ops),
                                     filters={"refuse_seconds": 0}))


def setup(principal: str = "ops", resources: str = "cpus:4;mem:1024") -> tuple[Harness, str, str]:
    h = Harness()
    fid = h.framework(FW, roles=["eng"], capabilities=MULTI, principal=principal)
    aid = h.agent(AGENT, resources)
    return h, fid, aid


def test_the_stack_format_and_its_checks() -> None:
    (c,) = reserve_conversions(reserved("cpus:1", ("eng", "ops")))
    assert (c.consumed, c.converted, c.role, c.principal) == (R("cpus:1"), R("cpus(eng):1"), "eng", "ops")
    (c,) = reserve_conversions(reserved("cpus:1", ("eng", "ops"), ("eng/a", "ops")))
    assert (c.consumed, c.converted) == (R("cpus(eng):1"), R("cpus(eng/a):1"))
    (u,) = unreserve_conversions(reserved("cpus:1", ("eng", "ops"), ("eng/a", "ops")))
    assert (u.consumed, u.converted, [e["role"] for e in u.stack]) == (R("cpus(eng/a):1"), R("cpus(eng):1"), ["eng"])
    legacy = [{"name": "mem", "type": "SCALAR", "scalar": {"value": 8}, "role": "eng",
               "reservation": {"principal": "p"}}]
    assert reserve_conversions(legacy)[0].converted == R("mem(eng):8")
    with pytest.raises(ReservationError, match="does not refine 'eng'"):
        reserve_conversions(reserved("cpus:1", ("eng", ""), ("ops", "")))
    with pytest.raises(ReservationError, match="has no reservation"):
        reserve_conversions(R("cpus:1").to_dicts())
    with pytest.raises(ReservationError, match="non-empty list"):
        reserve_conversions([])


def test_reserve_then_launch_in_one_accept_and_the_offer_shows_the_stack() -> None:
    h, fid, aid = setup()
    out = accept(h, fid, offer_of(h), reserve_op(reserved("cpus:2;mem:512", ("eng", "ops"))),
                 launch(task_info("t1", 2, 512, resources=reserved("cpus:2;mem:512", ("eng", "ops"))))[0])
    assert [t.task["task_id"]["value"] for t in of_type(out, m.RunTask)] == ["t1"]
    (ckpt,) = of_type(out, m.CheckpointResources, AGENT)
    assert Resources.from_dicts(ckpt.resources) == R("cpus(eng):2;mem(eng):512")
    assert h.core.agents[aid].total == R("cpus:2;mem:512;cpus(eng):2;mem(eng):512")
    assert h.allocator.available(aid) == R("cpus:2;mem:512")  # the task holds the reservation


def test_a_reservation_is_offered_with_its_stack_and_outlives_the_framework() -> None:
    h, fid, aid = setup()
    accept(h, fid, offer_of(h), reserve_op(reserved("cpus:1", ("eng", "ops"))))
    h.send(FW, m.UnregisterFramework(framework_id=fid))
    other = "scheduler(2)@127.0.0.1:6001"
    h.framework(other, roles=["dev"], capabilities=MULTI)
    (offer,) = [o for msg in of_type(h.allocate(), m.ResourceOffers, other) for o in msg.offers]
    assert Resources.from_dicts(offer["resources"]) == R("cpus:3;mem:1024")  # not the reservation
    again = "scheduler(3)@127.0.0.1:6002"
    h.framework(again, roles=["eng"], capabilities=MULTI, principal="ops")
    (offer,) = [o for msg in of_type(h.allocate(), m.ResourceOffers, again) for o in msg.offers]
    (cpus,) = [d for d in offer["resources"] if d["role"] == "eng"]
    assert cpus["reservations"] == [{"type": "DYNAMIC", "role": "eng", "principal": "ops"}]
    assert cpus["allocation_info"] == {"role": "eng"}


def test_invalid_reserves_are_dropped_and_the_accept_goes_on() -> None:
    h, fid, aid = setup()
    offer = offer_of(h)
    out = accept(h, fid, offer,
                 reserve_op(reserved("cpus:1", ("eng", "mallory"))),  # not the framework's principal
                 reserve_op(reserved("cpus:1", ("dev", "ops"))),  # not the offer's role
                 reserve_op(reserved("cpus:9", ("eng", "ops"))),  # more than offered
                 launch(task_info("t1", 1, 128))[0])
    assert of_type(out, m.CheckpointResources) == []
    assert [t.task["task_id"]["value"] for t in of_type(out, m.RunTask)] == ["t1"]
    assert h.core.agents[aid].total == R("cpus:4;mem:1024")


def test_unreserve_and_refinement_in_accepts() -> None:
    h = Harness()
    fid = h.framework(FW, roles=["eng/a"], capabilities=MULTI)
    aid = h.agent(AGENT, "cpus:2;mem:1024;cpus(eng):2")
    # a refinement: one cpu of the reservation to eng becomes eng/a's (the stack names both)
    accept(h, fid, offer_of(h), reserve_op(reserved("cpus:1", ("eng", ""), ("eng/a", ""))))
    assert h.core.agents[aid].total == R("cpus:2;mem:1024;cpus(eng):1;cpus(eng/a):1")
    offer = offer_of(h)
    (mine,) = [d for d in offer["resources"] if d["role"] == "eng/a"]
    accept(h, fid, offer, reserve_op([mine], "UNRESERVE"))
    assert h.core.agents[aid].total == R("cpus:2;mem:1024;cpus(eng):2")
    assert h.core.agents[aid].reservations.by_role == {"eng": (R("cpus(eng):1"), [
        {"type": "DYNAMIC", "role": "eng"}])}


def test_allocator_conversions_refuse_what_is_not_there() -> None:
    al = AllocatorCore()
    al.add_agent("a0", R("cpus:2;mem:64"))
    al.update_available("a0", R("cpus:1"), R("cpus(eng):1"))
    assert al.available("a0") == R("cpus:1;mem:64;cpus(eng):1")
    with pytest.raises(AllocatorError, match="not unallocated"):
        al.update_available("a0", R("cpus:5"), R("cpus(eng):5"))
    al.add_framework("f", ["eng"])
    al.allocate_roles(0.0)
    al.update_allocation("f", "a0", "eng", R("cpus:1"), R("cpus(eng):1"))
    assert al.allocated("f") == {"a0": R("mem:64;cpus(eng):2")}
    with pytest.raises(AllocatorError, match="not allocated"):
        al.update_allocation("f", "a0", "eng", R("cpus:1"), R("cpus(eng):1"))


def test_the_operator_reserves_free_resources_rescinding_offers_first() -> None:
    h = Harness()
    h.framework(FW, roles=["dev"], capabilities=MULTI)
    aid = h.agent(AGENT, "cpus:4;mem:1024")
    offer = offer_of(h)
    out: list[Any] = []
    conversions = operator_plan(h.core, aid, reserved("cpus:1", ("eng", "")), True, h.now, out)
    h.apply(out)
    assert [r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)] == [offer["id"]["value"]]
    h.allocator.update_available(aid, conversions[0].consumed, conversions[0].converted)
    out = []
    operator_commit(h.core, aid, conversions, True, out)
    assert h.core.agents[aid].total == R("cpus:3;mem:1024;cpus(eng):1")
    assert of_type(out, m.CheckpointResources, AGENT)
    with pytest.raises(ReservationError, match="no agent 'nope'"):
        operator_plan(h.core, "nope", reserved("cpus:1", ("eng", "")), True, h.now, [])


def test_the_agent_checkpoint_rebuilds_its_total_with_the_stacks(tmp_path: Any) -> None:
    res = DynamicReservations()
    res.apply(reserve_conversions(reserved("cpus:1", ("eng", "ops"))), True)
    res.apply(reserve_conversions(reserved("mem:64", ("eng", "ops"), ("eng/a", "ops"))), True)
    items = res.to_dicts()
    save_checkpointed(str(tmp_path), items)
    assert load_checkpointed(str(tmp_path)) == items
    total = agent_total(R("cpus:2;mem:128"), items)
    assert total == R("cpus:1;mem:64;cpus(eng):1;mem(eng/a):64")
    reported = report(total, items)
    assert DynamicReservations.from_dicts(reported).by_role == res.by_role
    with pytest.raises(ReservationError, match="is not available in the agent's --resources"):
        agent_total(R("cpus:0.5;mem:128"), items)
    (tmp_path / "meta" / "resources.json").write_text("{bad")
    with pytest.raises(ReservationError, match="cannot read the checkpointed resources"):
        load_checkpointed(str(tmp_path))


def test_a_reregistering_agent_reports_its_reservations_to_a_new_master() -> None:
    h = Harness()
    items = reserved("cpus:1", ("eng", "ops"))
    total = agent_total(R("cpus:2;mem:256"), items)
    out = h.send(AGENT, m.ReregisterAgent(agent={"hostname": "h", "id": {"value": "S9"},
                                                 "resources": report(total, items)}))
    assert h.core.agents["S9"].total == R("cpus:1;mem:256;cpus(eng):1")
    assert h.core.agents["S9"].reservations.stacks() == {"eng": items[0]["reservations"]}
    assert of_type(out, m.CheckpointResources, AGENT)
