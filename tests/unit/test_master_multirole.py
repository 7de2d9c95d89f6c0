"""Multi-role frameworks in the master core: offers per role, labelled resources,
per-role decline / revive / suppress, suppressed_roles in (re)registration and
over a master restart."""

from __future__ import annotations

from typing import Any

from actors.resources import Resources
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from transport import messages as m

AGENT2 = "agent(2)@127.0.0.1:5052"
MULTI: dict[str, Any] = {"roles": ["a", "b"], "capabilities": [{"type": "MULTI_ROLE"}]}


def roles_of(offers: list[dict[str, Any]]) -> list[str]:
    return sorted(o["allocation_info"]["role"] for o in offers)


def check_labelled(offer: dict[str, Any]) -> None:
    role = offer["allocation_info"]["role"]
    assert offer["resources"] and all(r["allocation_info"] == {"role": role} for r in offer["resources"])


def test_offers_are_made_per_role_and_every_resource_names_it() -> None:
    h = Harness()
    h.framework(FW, **MULTI)
    h.agent(AGENT)
    h.agent(AGENT2)
    offers = h.offers(FW)
    assert roles_of(offers) == ["a", "b"]  # DRF: the second agent goes to the role with the lower share
    for offer in offers:
        check_labelled(offer)


def test_reserved_and_unreserved_resources_of_one_agent_come_in_separate_offers() -> None:
    h = Harness()
    h.framework(FW, **MULTI)
    h.agent(AGENT, resources="cpus:2;mem:1024;cpus(b):1;mem(b):128")
    offers = h.offers(FW)
    assert roles_of(offers) == ["a", "b"]
    by_role = {o["allocation_info"]["role"]: Resources.from_dicts(o["resources"]) for o in offers}
    assert by_role == {"a": Resources.parse("cpus:2;mem:1024"), "b": Resources.parse("cpus(b):1;mem(b):128")}
    # Offers of two roles cannot be accepted together (Mesos: one allocation role per accept).
    fid = next(iter(h.core.frameworks))
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[o["id"]["value"] for o in offers],
                                    operations=launch(task_info("t1"))))
    (st,) = of_type(out, m.StatusUpdate, FW)
    assert st.status["state"] == "TASK_LOST" and st.status["reason"] == "REASON_INVALID_OFFERS"
    assert "same role" in st.status["message"]


def test_a_task_runs_in_its_offers_role_and_frees_resources_there() -> None:
    h = Harness()
    fid = h.framework(FW, **MULTI)
    h.agent(AGENT)
    h.agent(AGENT2)
    offers = {o["allocation_info"]["role"]: o for o in h.offers(FW)}
    offer_b = offers["b"]
    aid, pid = offer_b["agent_id"]["value"], h.core.agents[offer_b["agent_id"]["value"]].pid
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer_b["id"]["value"]],
                                    operations=launch(task_info("t1", 1, 512))))
    (run,) = of_type(out, m.RunTask, pid)
    assert all(r["allocation_info"] == {"role": "b"} for r in run.task["resources"])
    assert h.core.frameworks[fid].tasks["t1"].role == "b"
    # What the task holds counts in b; the rest of the offer went back from b (a keeps its agent).
    assert h.allocator.role_shares() == {"a": 1 / 2, "b": 1 / 8}  # b: 1 of the cluster's 8 cpus
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[offers["a"]["id"]["value"]]))
    assert h.allocator.role_shares()["a"] == 0.0
    update_from(h, pid, fid, aid, "t1", "TASK_FINISHED")
    assert h.allocator.role_shares() == {"a": 0.0, "b": 0.0}


def test_a_task_labelled_with_another_role_is_an_error() -> None:
    h = Harness()
    fid = h.framework(FW, **MULTI)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    bad = task_info("t1")
    bad["resources"] = [dict(r, allocation_info={"role": "b"}) for r in bad["resources"]]
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=launch(bad)))
    (st,) = of_type(out, m.StatusUpdate, FW)
    assert st.status["state"] == "TASK_ERROR" and "allocated to role 'b'" in st.status["message"]


def test_decline_refuses_in_the_declined_role_only() -> None:
    h = Harness()
    fid = h.framework(FW, **MULTI)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    assert offer["allocation_info"]["role"] == "a"
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], filters={"refuse_seconds": 60}))
    (again,) = h.offers(FW)
    assert again["allocation_info"]["role"] == "b"
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[again["id"]["value"]], filters={"refuse_seconds": 60}))
    assert h.offers(FW) == []
    h.send(FW, m.ReviveOffers(framework_id=fid, roles=["b"]))  # a's filter stays
    assert roles_of(h.offers(FW)) == ["b"]


def test_suppress_and_revive_name_roles() -> None:
    h = Harness()
    fid = h.framework(FW, **MULTI)
    h.send(FW, m.SuppressOffers(framework_id=fid, roles=["a"]))
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    assert offer["allocation_info"]["role"] == "b"
    h.send(FW, m.SuppressOffers(framework_id=fid, roles=["b"]))
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], filters={"refuse_seconds": 0}))
    assert h.offers(FW) == []
    h.send(FW, m.ReviveOffers(framework_id=fid, roles=["a"]))
    assert roles_of(h.offers(FW)) == ["a"]


def test_suppressed_roles_at_registration_reregistration_and_master_restart() -> None:
    h = Harness()
    out = h.send(FW, m.RegisterFramework(framework={"name": "fw", **MULTI}, suppressed_roles=["a"]))
    fid = of_type(out, m.FrameworkRegistered, FW)[0].framework_id
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    assert offer["allocation_info"]["role"] == "b"
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], filters={"refuse_seconds": 0}))
    info = {"id": {"value": fid}, "name": "fw", **MULTI}
    # The driver fails over and re-registers with b suppressed instead: that replaces a.
    h.send(FW, m.ReregisterFramework(framework=info, suppressed_roles=["b"]))
    assert roles_of(h.offers(FW)) == ["a"]
    # A new master learns suppression from the re-registration alone.
    fresh = Harness()
    fresh.agent(AGENT)
    out = fresh.send(FW, m.ReregisterFramework(framework=info, suppressed_roles=["a"]))
    assert of_type(out, m.FrameworkReregistered, FW)
    assert roles_of(fresh.offers(FW)) == ["b"]


def test_suppressed_roles_must_be_the_frameworks_roles() -> None:
    h = Harness()
    out = h.send(FW, m.RegisterFramework(framework={"name": "fw", **MULTI}, suppressed_roles=["c"]))
    (err,) = of_type(out, m.FrameworkError, FW)
    assert "'c'" in err.message and not h.core.frameworks


def update_from(h: Harness, pid: str, fid: str, aid: str, tid: str, state: str) -> None:
    status = {"task_id": {"value": tid}, "state": state, "agent_id": {"value": aid}, "uuid": b"u-" + tid.encode()}
    h.send(pid, m.StatusUpdate(framework_id=fid, status=status, uuid=status["uuid"], agent_id=aid))

