"""Mesos' ACL semantics (actors/security/acls.py): first matching ACL decides, else permissive."""

from __future__ import annotations

import json

import pytest

from actors.security.acls import ACTIONS, AclError, parse_acls

DOC = {
    "permissive": False,
    "register_frameworks": [
        {"principals": {"values": ["web"]}, "roles": {"values": ["web", "web/a"]}},
        {"principals": {"values": ["ops"]}, "roles": {"type": "ANY"}},
        {"principals": {"type": "ANY"}, "roles": {"values": ["shared"]}},
    ],
    "run_tasks": [
        {"principals": {"values": ["web"]}, "users": {"values": ["www"]}},
        {"principals": {"values": ["web"]}, "users": {"type": "NONE"}},
    ],
    "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
}


@pytest.mark.parametrize("action,principal,obj,allowed", [
    ("register_frameworks", "web", "web", True),
    ("register_frameworks", "web", "batch", False),       # no ACL matches: permissive false
    ("register_frameworks", "ops", "batch", True),
    ("register_frameworks", "batch", "shared", True),
    ("register_frameworks", None, "shared", True),         # ANY principals match the unauthenticated
    ("register_frameworks", None, "web", False),
    ("run_tasks", "web", "www", True),
    ("run_tasks", "web", "root", False),                   # matched by the NONE entry: refused
    ("run_tasks", "other", "www", False),
    ("view_frameworks", "anyone", "alice", True),
    ("teardown_frameworks", "ops", "web", False),          # no rules, not permissive
])
def test_matrix(action, principal, obj, allowed):
    assert parse_acls(json.dumps(DOC)).authorize(action, principal, obj) is allowed


def test_permissive_default_and_none_denies_even_when_permissive():
    acls = parse_acls(json.dumps({"run_tasks": [{"principals": {"values": ["a"]}, "users": {"values": ["root"]}},
                                                {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]}))
    assert acls.authorize("run_tasks", "a", "root")
    assert not acls.authorize("run_tasks", "b", "root")
    assert acls.authorize("register_frameworks", "b", "x")  # permissive by default
    assert not acls.restricts("register_frameworks") and acls.restricts("run_tasks")


def test_every_action_has_a_json_key():
    doc = {key: [{"principals": {"type": "ANY"}, obj: {"type": "NONE"}}] for key, obj in ACTIONS.values()}
    acls = parse_acls(json.dumps(doc))
    assert all(not acls.authorize(action, "p", "o") for action in ACTIONS)


@pytest.mark.parametrize("doc,error", [
    ('{"permissive": "no"}', "permissive"),
    ('{"run_tasks": {}}', "run_tasks must be a list"),
    ('{"run_tasks": [{"principals": {"type": "ANY"}}]}', "'users'"),
    ('{"run_tasks": [{"principals": {"type": "SOME"}, "users": {"type": "ANY"}}]}', "ANY or NONE"),
    ('{"run_tasks": [{"principals": {"values": "a"}, "users": {"type": "ANY"}}]}', "list of texts"),
    ('[1]', "JSON object"),
])
def test_bad_documents_are_named(doc, error):
    with pytest.raises(AclError, match=error):
        parse_acls(doc)


def test_unknown_keys_are_reported_not_enforced():
    acls = parse_acls('{"access_mesos_logs": [], "run_tasks": []}')
    assert acls.unenforced == ("access_mesos_logs",)
    with pytest.raises(ValueError, match="unknown action"):
        acls.authorize("fly", "a", "b")
