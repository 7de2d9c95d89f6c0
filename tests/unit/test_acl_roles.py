"""Role ACLs: Mesos' recursive ``role/%`` wildcards in the pure matcher, and what view_roles and
get_quotas let a principal see of the roles, quotas and agents' reservations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.security.acls import ACTIONS, HIERARCHICAL, parse_acls
from actors.security.role_visibility import RoleViewer, role_viewer


def acls(action: str, *entries: tuple[Any, Any], permissive: bool = False) -> Any:
    key, object_key = ACTIONS[action]
    return parse_acls(json.dumps({"permissive": permissive, key: [
        {"principals": p if isinstance(p, dict) else {"values": [p]},
         object_key: o if isinstance(o, dict) else {"values": list(o)}} for p, o in entries]}))


@pytest.mark.parametrize("action", sorted(HIERARCHICAL))
def test_a_recursive_role_matches_every_descendant_but_not_the_role_itself(action: str) -> None:
    a = acls(action, ("alice", ["eng/%"]))
    for role in ("eng/web", "eng/web/dev", "eng/x/y/z"):
        assert a.authorize(action, "alice", role), role
    for role in ("eng", "engineering", "eng-web", "ops/eng/web", "*"):
        assert not a.authorize(action, "alice", role), role  # no ACL matches: not permissive
    assert not a.authorize(action, "bob", "eng/web")
    assert not a.authorize(action, None, "eng/web")
    assert not a.authorize(action, "alice", None)  # an unknown role is not a descendant


def test_recursive_and_plain_values_of_one_entry_and_the_first_match_decides() -> None:
    a = acls("reserve_resources", ("alice", ["eng", "eng/%", "ops"]),
             ({"type": "ANY"}, ["eng/secret/%"]), ({"type": "ANY"}, {"type": "ANY"}), permissive=True)
    assert a.authorize("reserve_resources", "alice", "eng")
    assert a.authorize("reserve_resources", "alice", "eng/secret/x")  # alice's entry comes first
    assert a.authorize("reserve_resources", "alice", "ops")
    assert a.authorize("reserve_resources", "bob", "eng/secret/x")  # the ANY entry
    # a recursive NONE: principals NONE refuse every descendant, then what follows is not reached
    b = acls("register_frameworks", ({"type": "NONE"}, ["eng/%"]), ({"type": "ANY"}, {"type": "ANY"}))
    assert not b.authorize("register_frameworks", "alice", "eng/web")
    assert b.authorize("register_frameworks", "alice", "eng")
    # Mesos' order: an earlier plain refusal wins over a later wildcard
    c = acls("view_roles", ({"type": "ANY"}, {"type": "NONE"}), ("alice", ["eng/%"]))
    assert not c.authorize("view_roles", "alice", "eng/web")


def test_outside_the_role_actions_a_trailing_slash_percent_is_a_plain_value() -> None:
    a = acls("run_tasks", ("alice", ["eng/%"]))
    assert not a.authorize("run_tasks", "alice", "eng/web")
    assert a.authorize("run_tasks", "alice", "eng/%")


def viewer_of(principal: str | None, **keys: Any) -> RoleViewer:
    doc = {key: [{"principals": {"values": ["alice"]}, "roles": {"values": values}},
                 {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}] for key, values in keys.items()}
    rv = role_viewer(parse_acls(json.dumps(doc)), principal)
    assert rv is not None
    return rv


def test_role_listings_hide_roles_and_the_frameworks_the_principal_may_not_see() -> None:
    rv = viewer_of("alice", view_roles=["eng/%"])
    doc = {"roles": [{"name": "eng", "frameworks": ["f1"]}, {"name": "eng/a", "frameworks": ["f1", "f2"]},
                     {"name": "eng/b", "frameworks": [{"value": "f2"}, {"value": "f3"}]}]}
    assert rv.roles(doc, {"f2"}) == {"roles": [{"name": "eng/a", "frameworks": ["f2"]},
                                               {"name": "eng/b", "frameworks": [{"value": "f2"}]}]}
    assert [r["frameworks"] for r in rv.roles(doc, None)["roles"]] == [["f1", "f2"], [{"value": "f2"}, {"value": "f3"}]]
    assert doc["roles"][1]["frameworks"] == ["f1", "f2"]  # the input is not changed
    assert viewer_of(None, view_roles=["eng/%"]).roles(doc, None)["roles"] == []
    assert role_viewer(parse_acls("{}"), "alice") is None  # nothing restricted: no filtering


def test_quota_entries_need_get_quotas_and_view_roles() -> None:
    status = {"infos": [{"role": r} for r in ("eng", "eng/a", "ops")],
              "configs": [{"role": r} for r in ("eng", "eng/a", "ops")]}
    assert viewer_of("alice", view_roles=["eng/%", "ops"]).quota_status(status) == {
        "infos": [{"role": "eng/a"}, {"role": "ops"}], "configs": [{"role": "eng/a"}, {"role": "ops"}]}
    assert viewer_of("alice", get_quotas=["ops"]).quota_status(status)["configs"] == [{"role": "ops"}]


def test_a_resource_is_visible_when_every_role_it_names_is() -> None:
    rv = viewer_of("alice", view_roles=["eng", "eng/%"])
    assert rv.resource({"name": "cpus", "role": "*"})
    assert rv.resource({"name": "cpus", "reservations": [{"role": "eng"}, {"role": "eng/a"}]})
    assert not rv.resource({"name": "cpus", "reservations": [{"role": "eng"}, {"role": "ops"}]})
    assert not rv.resource({"name": "cpus", "role": "ops"})
    assert not rv.resource({"name": "cpus", "role": "*", "allocation_info": {"role": "ops"}})
    agent = {"id": "a1", "reserved_resources": {"eng": {"cpus": 1}, "ops": {"cpus": 2}},
             "reserved_resources_full": {"eng": [{"name": "cpus", "role": "eng"}], "ops": [{"name": "cpus", "role": "ops"}]},
             "used_resources_full": [{"name": "cpus", "role": "ops"}, {"name": "mem", "role": "*"}]}
    state = rv.state({"slaves": [agent], "quota": {"infos": [{"role": "ops"}], "configs": []}})
    assert state["slaves"][0] == {"id": "a1", "reserved_resources": {"eng": {"cpus": 1}},
                                  "reserved_resources_full": {"eng": [{"name": "cpus", "role": "eng"}]},
                                  "used_resources_full": [{"name": "mem", "role": "*"}]}
    assert state["quota"] == {"infos": [], "configs": []}
    v1 = rv.agent_v1({"agent_info": {"resources": [{"name": "cpus", "role": "ops"}]}, "total_resources": [
        {"name": "cpus", "role": "eng/x"}, {"name": "mem", "role": "ops"}], "active": True})
    assert v1 == {"agent_info": {"resources": []}, "total_resources": [{"name": "cpus", "role": "eng/x"}], "active": True}

