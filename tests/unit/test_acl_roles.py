"""Role ACLs: Mesos' recursive ``role/%`` wildcards in the pure matcher, and what view_roles and
get_quotas let a principal see of the roles, quotas and agents' reservations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.security.acls import ACTIONS, HIERARCHICAL, parse_acls


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
