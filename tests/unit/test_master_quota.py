"""Quota in the master core (pure): UPDATE_QUOTA / v0 QuotaRequest shapes, the checks
Mesos makes (limit below consumption, guarantees above capacity, unless forced), offers
rescinded when a lower limit makes them too much, and the state / roles views."""

from __future__ import annotations

import pytest

from actors.master import views
from actors.master.config import ConfigError, MasterConfig
from actors.master.model import Effect
from actors.master.quota import quota_status, update_quota
from actors.master.quota_json import QuotaError, parse_quota_body, quotas_from_text, quotas_to_text
from actors.resources import Resources
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from transport import messages as m


def config(role: str, guarantees: dict[str, float] | None = None, limits: dict[str, float] | None = None,
           force: bool = False) -> dict[str, object]:
    item: dict[str, object] = {"role": role}
    if guarantees is not None:
        item["guarantees"] = {n: {"value": v} for n, v in guarantees.items()}
    if limits is not None:
        item["limits"] = {n: {"value": v} for n, v in limits.items()}
    return {"quota_configs": [item], "force": force}


def apply_quota(h: Harness, body: object) -> list[Effect]:
    configs, force = parse_quota_body(body)
    out: list[Effect] = []
    update_quota(h.core, configs, force, h.now, out)
    return h.apply(out)


def test_update_quota_reaches_the_allocator_and_limits_offers() -> None:
    h = Harness()
    apply_quota(h, config("eng", limits={"cpus": 1}))
    fid = h.framework(FW, roles=["eng"], capabilities=[{"type": "MULTI_ROLE"}])
    h.agent(AGENT, "cpus:4;mem:4096")
    (offer,) = h.offers(FW)
    assert Resources.from_dicts(offer["resources"]).scalar("cpus") == 1.0
    assert fid in h.core.frameworks
    (role,) = views.roles_view(h.core, {})["roles"]
    assert role["quota"]["consumed"] == {"cpus": 1.0, "mem": 4096.0}  # what it is offered counts
    ours = views.allocation_view(h.core, fid)
    assert ours is not None and ours["quota_at_limit"] == {"eng": {"cpus": 1.0}}
    reasons = views.allocation_reasons(ours, {"active": True, "suppressed_roles": [], "filters": [], "siblings": {},
                                              "share": 0.0})
    assert "role 'eng' is at its quota limit (cpus:1): no more of that is offered in its subtree" in reasons


def test_v0_quota_request_sets_guarantees_and_limits_alike() -> None:
    body = {"role": "eng", "guarantee": Resources.parse("cpus:2;mem:512").to_dicts()}
    ((role, quota),), force = parse_quota_body(body)
    assert role == "eng" and not force
    assert dict(quota.guarantees) == dict(quota.limits) == {"cpus": 2.0, "mem": 512.0}


def test_a_limit_below_consumption_is_refused_unless_forced() -> None:
    h = Harness()
    fid = h.framework(FW, roles=["eng"], capabilities=[{"type": "MULTI_ROLE"}])
    h.agent(AGENT, "cpus:4;mem:4096")
    (offer,) = h.offers(FW)
    h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                              operations=launch(task_info("t1", 2, 128))))
    with pytest.raises(QuotaError, match=r"below its consumption \(cpus:2 > cpus:1\)"):
        apply_quota(h, config("eng", limits={"cpus": 1}))
    assert h.core.quotas == {}
    apply_quota(h, config("eng", limits={"cpus": 1}, force=True))
    assert h.core.quotas["eng"].limits == {"cpus": 1.0}


def test_guarantees_above_the_cluster_are_refused_unless_forced() -> None:
    h = Harness()
    h.agent(AGENT, "cpus:4;mem:4096")
    with pytest.raises(QuotaError, match=r"exceed the cluster's capacity \(cpus:5 > cpus:4\)"):
        apply_quota(h, config("eng", guarantees={"cpus": 5}))
    apply_quota(h, config("eng", guarantees={"cpus": 5}, force=True))


def test_lowering_a_limit_below_what_is_offered_rescinds_the_offers() -> None:
    h = Harness()
    h.framework(FW, roles=["eng"], capabilities=[{"type": "MULTI_ROLE"}])
    h.agent(AGENT, "cpus:4;mem:4096")
    (offer,) = h.offers(FW)
    out = apply_quota(h, config("eng", limits={"cpus": 2}))
    assert [r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)] == [offer["id"]["value"]]
    (again,) = h.offers(FW)
    assert Resources.from_dicts(again["resources"]).scalar("cpus") == 2.0
    # a limit the offers fit under rescinds nothing
    assert of_type(apply_quota(h, config("eng", limits={"cpus": 3})), m.RescindResourceOffer) == []


def test_bad_quota_requests_name_the_bad_value() -> None:
    with pytest.raises(QuotaError, match="not JSON"):
        parse_quota_body(b"{nope")
    with pytest.raises(QuotaError, match="'force' must be true or false, got 'yes'"):
        parse_quota_body({"role": "a", "guarantee": [], "force": "yes"})
    with pytest.raises(QuotaError, match="cpus must be a number, got"):
        parse_quota_body(config("a", limits={"cpus": "lots"}))  # type: ignore[dict-item]
    with pytest.raises(QuotaError, match="more than once"):
        parse_quota_body({"quota_configs": [{"role": "a"}, {"role": "a"}]})
    with pytest.raises(QuotaError, match="non-scalar"):
        parse_quota_body({"role": "a", "guarantee": Resources.parse("ports:[1-2]").to_dicts()})
    h = Harness(roles="eng")
    with pytest.raises(QuotaError, match="not in --roles"):
        apply_quota(h, config("ops", limits={"cpus": 1}))


def test_quota_is_shown_in_state_and_roles() -> None:
    h = Harness()
    h.agent(AGENT, "cpus:4;mem:4096")
    apply_quota(h, config("eng", guarantees={"cpus": 1}, limits={"cpus": 2}))
    status = h.core.state(h.now)["quota"]
    assert status == quota_status(h.core)
    assert status["configs"] == [{"role": "eng", "guarantees": {"cpus": {"value": 1.0}},
                                  "limits": {"cpus": {"value": 2.0}}}]
    assert status["infos"][0]["role"] == "eng"
    (role,) = views.roles_view(h.core, {})["roles"]
    assert role["name"] == "eng"
    assert role["quota"] == {"role": "eng", "guarantee": {"cpus": 1.0}, "limit": {"cpus": 2.0}, "consumed": {}}


def test_the_quota_file_round_trips_and_a_bad_one_is_a_config_error(tmp_path: object) -> None:
    h = Harness()
    h.agent(AGENT, "cpus:4;mem:4096")
    apply_quota(h, config("eng", guarantees={"cpus": 1}, limits={"cpus": 2, "mem": 100}))
    assert quotas_from_text(quotas_to_text(h.core.quotas)) == h.core.quotas
    bad = f"{tmp_path}/quota.json"
    with open(bad, "w") as f:
        f.write('{"quota_configs": [{"role": "eng", "limits": {"cpus": {"value": -1}}}]}')
    with pytest.raises(ConfigError, match="--quota: bad quota file .* cpus must be a number >= 0, got -1"):
        MasterConfig(quota=bad).validate()
    MasterConfig(quota=f"{tmp_path}/not-yet.json").validate()  # created on the first update
