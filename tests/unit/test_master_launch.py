"""Launch validation in the master core: offers, tasks, resources, and what goes back."""

from __future__ import annotations

from actors.master.model import ToAllocator
from actors.resources import Resources
from tests.unit.master_helpers import FW, AGENT, Harness, launch, of_type, task_info
from transport import messages as m

FW2 = "scheduler(2)@127.0.0.1:6000"


def setup(**info: object) -> tuple[Harness, str, str, dict]:
    h = Harness()
    fid = h.framework(FW, **info)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    return h, fid, offer["id"]["value"], offer


def accept(h: Harness, fid: str, offer_ids: list[str], *tasks: dict, filters: dict | None = None) -> list:
    return h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=offer_ids, operations=launch(*tasks),
                                     filters=filters or {}))


def statuses(out: list) -> dict[str, dict]:
    return {u.status["task_id"]["value"]: u.status for u in of_type(out, m.StatusUpdate, FW)}


def test_offer_covers_the_whole_agent() -> None:
    _h, fid, oid, offer = setup()
    assert offer["framework_id"] == {"value": fid}
    assert oid.startswith("M-O")
    assert Resources.from_dicts(offer["resources"]) == Resources.parse("cpus:4;mem:4096")
    assert offer["allocation_info"] == {"role": "*"}
    assert offer["hostname"] == "h1"


def test_valid_launch_runs_task_and_returns_the_rest_with_default_filter() -> None:
    h, fid, oid, _ = setup()
    out = accept(h, fid, [oid], task_info("t1", 2, 1024), task_info("t2", 1, 2048))
    runs = of_type(out, m.RunTask, AGENT)
    assert [r.task["task_id"]["value"] for r in runs] == ["t1", "t2"]
    assert runs[0].framework_pid == FW and runs[0].framework["id"] == {"value": fid}
    assert runs[0].task["agent_id"] == {"value": h.core.agents[next(iter(h.core.agents))].agent_id}
    assert not of_type(out, m.StatusUpdate)
    (rec,) = [e for e in out if isinstance(e, ToAllocator) and e.method == "recover_resources"]
    assert rec.kwargs["resources"] == Resources.parse("cpus:1;mem:1024")
    assert rec.kwargs["refuse_seconds"] == 5.0
    state = h.core.state(h.now)
    assert [t["state"] for t in state["frameworks"][0]["tasks"]] == ["TASK_STAGING", "TASK_STAGING"]
    assert state["slaves"][0]["used_resources"]["cpus"] == 3.0


def test_remainder_is_filtered_for_that_framework_only() -> None:
    h, fid, oid, _ = setup()
    accept(h, fid, [oid], task_info("t1", 2, 1024), task_info("t2", 1, 2048))
    fid2 = h.framework(FW2, name="two")
    (offer,) = h.offers(FW2)
    assert Resources.from_dicts(offer["resources"]) == Resources.parse("cpus:1;mem:1024")
    assert offer["framework_id"] == {"value": fid2}


def test_too_many_cpus_is_task_error_and_nothing_leaks() -> None:
    h, fid, oid, _ = setup()
    out = accept(h, fid, [oid], task_info("big", 5, 128), filters={"refuse_seconds": 0})
    st = statuses(out)["big"]
    assert st["state"] == "TASK_ERROR" and st["reason"] == "REASON_TASK_INVALID"
    assert "more resources" in st["message"] and st["source"] == "SOURCE_MASTER"
    assert "uuid" not in st
    assert not of_type(out, m.RunTask)
    (offer,) = h.offers(FW)
    assert Resources.from_dicts(offer["resources"]) == Resources.parse("cpus:4;mem:4096")


def test_unknown_offer_drops_or_loses_tasks_per_partition_awareness() -> None:
    h, fid, oid, _ = setup()
    out = accept(h, fid, [oid, "M-O999"], task_info("t1"))
    st = statuses(out)["t1"]
    assert st["state"] == "TASK_LOST" and st["reason"] == "REASON_INVALID_OFFERS"
    assert "M-O999" in st["message"]
    assert not of_type(out, m.RunTask)
    (offer,) = h.offers(FW)  # the valid offer's resources were recovered without a filter
    assert Resources.from_dicts(offer["resources"]) == Resources.parse("cpus:4;mem:4096")

    h2, fid2, oid2, _ = setup(capabilities=[{"type": "PARTITION_AWARE"}])
    out = accept(h2, fid2, ["nope"], task_info("t1"))
    assert statuses(out)["t1"]["state"] == "TASK_DROPPED"
    assert h2.core.offers[oid2].framework_id == fid2  # an unknown id does not consume the good offer


def test_offer_of_another_framework_is_invalid() -> None:
    h = Harness()
    fid = h.framework(FW)
    h.agent(AGENT)
    h.framework(FW2)
    h.agent("agent(2)@127.0.0.1:5051")
    offers = h.allocate()
    theirs = [o["id"]["value"] for msg in of_type(offers, m.ResourceOffers, FW2) for o in msg.offers]
    out = accept(h, fid, theirs, task_info("t1"))
    assert statuses(out)["t1"]["reason"] == "REASON_INVALID_OFFERS"
    assert "invalid framework" in statuses(out)["t1"]["message"]
    assert theirs[0] in h.core.offers  # still theirs


def test_offers_of_several_agents_cannot_be_combined() -> None:
    h = Harness()
    fid = h.framework(FW)
    h.agent(AGENT)
    h.agent("agent(2)@127.0.0.1:5051")
    ids = [o["id"]["value"] for o in h.offers(FW)]
    assert len(ids) == 2
    out = accept(h, fid, ids, task_info("t1"))
    st = statuses(out)["t1"]
    assert st["state"] == "TASK_LOST" and "one single agent" in st["message"]
    assert not h.core.offers
    assert len(h.offers(FW)) == 2  # both recovered


def test_duplicate_task_id_within_accept_and_framework() -> None:
    h, fid, oid, _ = setup()
    out = accept(h, fid, [oid], task_info("t1"), task_info("t1"))
    assert len(of_type(out, m.RunTask)) == 1
    (err,) = of_type(out, m.StatusUpdate, FW)
    assert err.status["state"] == "TASK_ERROR" and "duplicate ID: t1" in err.status["message"]
    h.now += 10
    (offer,) = h.offers(FW)
    out = accept(h, fid, [offer["id"]["value"]], task_info("t1"))
    assert statuses(out)["t1"]["reason"] == "REASON_TASK_INVALID"


def test_malformed_tasks_each_get_a_named_error() -> None:
    h, fid, oid, _ = setup()
    bad = {
        "noid": task_info("", 1),
        "slash": task_info("a/b", 0.1),
        "both": task_info("both", 0.1, executor={"executor_id": {"value": "e"}, "command": {"value": "x"}}),
        "neither": {k: v for k, v in task_info("neither", 0.1).items() if k != "command"},
        "nores": task_info("nores", resources=[]),
        "badres": task_info("badres", resources=[{"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}}]),
        "agent": task_info("agent", 0.1, agent_id={"value": "other"}),
    }
    out = accept(h, fid, [oid], *bad.values(), task_info("ok", 0.5))
    errs = [u.status for u in of_type(out, m.StatusUpdate, FW)]
    assert all(s["state"] == "TASK_ERROR" and s["reason"] == "REASON_TASK_INVALID" for s in errs)
    msgs = [s["message"] for s in errs]
    assert "must not be empty" in msgs[0]
    assert "invalid character '/'" in msgs[1]
    assert "not both" in msgs[2] and "not both" in msgs[3]
    assert "uses no resources" in msgs[4]
    assert "invalid resources" in msgs[5] and "-1" in msgs[5]
    assert "invalid agent: other" in msgs[6]
    assert [r.task["task_id"]["value"] for r in of_type(out, m.RunTask)] == ["ok"]


def test_executor_resources_are_counted_once_per_executor() -> None:
    h, fid, oid, _ = setup()
    ex = {"executor_id": {"value": "e1"}, "command": {"value": "run-executor"},
          "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}}]}
    t1 = {k: v for k, v in task_info("t1", 1, 128, executor=ex).items() if k != "command"}
    t2 = {k: v for k, v in task_info("t2", 1, 128, executor=ex).items() if k != "command"}
    t3 = {k: v for k, v in task_info("t3", 1.5, 128, executor=ex).items() if k != "command"}
    out = accept(h, fid, [oid], t1, t2, t3)
    assert [r.task["task_id"]["value"] for r in of_type(out, m.RunTask)] == ["t1", "t2"]
    assert statuses(out)["t3"]["state"] == "TASK_ERROR"
    assert h.core.state(h.now)["slaves"][0]["used_resources"]["cpus"] == 3.0


def test_decline_installs_filter_and_revive_clears_it() -> None:
    h, fid, oid, _ = setup()
    out = h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[oid], filters={"refuse_seconds": 30}))
    (rec,) = [e for e in out if isinstance(e, ToAllocator)]
    assert rec.method == "recover_resources" and rec.kwargs["refuse_seconds"] == 30.0
    h.now += 10
    assert h.offers(FW) == []
    h.send(FW, m.ReviveOffers(framework_id=fid))
    assert len(h.offers(FW)) == 1


def test_decline_without_filter_refuses_for_five_seconds() -> None:
    h, fid, oid, _ = setup()
    h.send(FW, m.DeclineOffers(framework_id=fid, offer_ids=[oid]))
    h.now += 4.9
    assert h.offers(FW) == []
    h.now += 0.2
    assert len(h.offers(FW)) == 1


def test_suppress_stops_offers_until_revive() -> None:
    h = Harness()
    fid = h.framework(FW)
    h.send(FW, m.SuppressOffers(framework_id=fid))
    h.agent(AGENT)
    assert h.offers(FW) == []
    h.send(FW, m.ReviveOffers(framework_id=fid))
    assert len(h.offers(FW)) == 1


def test_offer_timeout_rescinds() -> None:
    h = Harness(offer_timeout=30.0)
    h.framework(FW)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    assert h.core.next_deadline() == 15.0  # the first ping comes first
    h.advance(15.0)
    out = h.advance(15.0)
    (rescind,) = of_type(out, m.RescindResourceOffer, FW)
    assert rescind.offer_id == offer["id"]["value"]
    assert len(h.offers(FW)) == 1


def test_accept_from_wrong_pid_or_removed_framework() -> None:
    h, fid, oid, _ = setup()
    assert h.send(FW2, m.AcceptOffers(framework_id=fid, offer_ids=[oid], operations=launch(task_info("x")))) == []
    assert oid in h.core.offers
    h.send(FW, m.UnregisterFramework(framework_id=fid))
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[oid], operations=[]))
    (err,) = of_type(out, m.FrameworkError, FW)
    assert fid in err.message and "removed" in err.message
