"""The master core's security gate (registrations, run_tasks), the HTTP guard and state visibility."""

from __future__ import annotations

import base64
import json

import pytest

from actors.master.config import ConfigError, MasterConfig
from actors.security.acls import parse_acls
from actors.security.client import Authenticatee
from actors.security.credentials import Credential
from actors.security.http_auth import HttpGuard, basic_credentials, request_class
from actors.security.visibility import filter_state
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from transport import messages as m

MASTER = "master@127.0.0.1:5050"


@pytest.fixture
def creds(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"credentials": [{"principal": "fw", "secret": "s"}, {"principal": "ag", "secret": "a"}]}))
    return str(path)


def authenticate(h: Harness, pid: str, principal: str, secret: str) -> list:
    client = Authenticatee(principal, secret)
    (challenge,) = of_type(h.send(pid, client.start(pid, MASTER, h.now)), m.AuthenticationChallenge, pid)
    out = h.send(pid, client.response(MASTER, challenge))
    done = of_type(out, m.AuthenticationCompleted, pid)
    if done:
        assert client.completed(MASTER, done[0])
    return out


def test_unauthenticated_framework_and_agent_are_refused_and_counted(creds):
    h = Harness(authenticate_frameworks=True, authenticate_agents=True, credentials=creds)
    (error,) = of_type(h.send(FW, m.RegisterFramework(framework={"name": "x", "principal": "fw"})), m.FrameworkError)
    assert "is not authenticated" in error.message
    (failed,) = of_type(h.send(AGENT, m.RegisterAgent(agent={"hostname": "h", "resources": []})),
                        m.AuthenticationFailed)
    assert "--authenticate_agents" in failed.message
    assert not h.core.frameworks and not h.core.agents
    assert h.core.security.refused.snapshot() == {"RegisterAgent:not_authenticated": 1,
                                                  "RegisterFramework:not_authenticated": 1}


def test_authenticated_framework_registers_and_must_claim_its_principal(creds):
    h = Harness(authenticate_frameworks=True, credentials=creds)
    assert of_type(authenticate(h, FW, "fw", "s"), m.AuthenticationCompleted)
    (error,) = of_type(h.send(FW, m.RegisterFramework(framework={"name": "x", "principal": "other"})),
                       m.FrameworkError)
    assert "does not match authenticated principal 'fw'" in error.message
    assert h.framework(FW, principal="fw")
    h.exited(FW)
    assert h.core.security.principal(FW) is None  # gone with its pid


def test_wrong_secret_is_refused(creds):
    h = Harness(authenticate_frameworks=True, credentials=creds)
    (failed,) = of_type(authenticate(h, FW, "fw", "wrong"), m.AuthenticationFailed)
    assert "Authentication failed" in failed.message
    assert h.core.security.refused.dropped("AuthenticationResponse", "wrong_proof") == 1


def test_register_frameworks_and_run_tasks_acls():
    acls = json.dumps({"register_frameworks": [{"principals": {"values": ["web"]}, "roles": {"values": ["web"]}},
                                               {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
                       "run_tasks": [{"principals": {"values": ["web"]}, "users": {"values": ["www"]}},
                                     {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}]})
    h = Harness(acls=acls)
    (error,) = of_type(h.send(FW, m.RegisterFramework(framework={"name": "x", "principal": "batch", "roles": ["web"]})),
                       m.FrameworkError)
    assert "Not authorized to use roles ['web']" in error.message
    fid = h.framework(FW, principal="web", roles=["web"], user="www")
    h.agent(AGENT, "cpus:4;mem:1024")
    (offer,) = h.offers(FW)
    root = task_info("t-root", command={"value": "id", "shell": True, "user": "root"})
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                    operations=launch(task_info("t-www"), root)))
    (run,) = of_type(out, m.RunTask, AGENT)
    assert run.task["task_id"]["value"] == "t-www"
    (refused,) = [u for u in of_type(out, m.StatusUpdate, FW) if u.status["state"] == "TASK_ERROR"]
    assert refused.status["reason"] == "REASON_TASK_UNAUTHORIZED" and "as user 'root'" in refused.status["message"]
    assert h.core.security.refused.snapshot() == {"AcceptOffers:not_authorized": 1,
                                                  "RegisterFramework:not_authorized": 1}


def test_flags_need_credentials_and_good_files(creds, tmp_path):
    with pytest.raises(ConfigError, match="--authenticate_http_readonly needs --credentials"):
        MasterConfig(authenticate_http_readonly=True).validate()
    bad = tmp_path / "acls.json"
    bad.write_text('{"run_tasks": [{"principals": {"type": "ANY"}}]}')
    with pytest.raises(ConfigError, match="run_tasks\\[0\\] must have 'principals' and 'users'"):
        MasterConfig(acls=str(bad)).validate()


def _basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def test_http_guard():
    acls = parse_acls('{"get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},'
                      '{"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}]}')
    guard = HttpGuard({"ops": Credential("ops", "o"), "v": Credential("v", "v")}, acls, frozenset({"readonly"}))
    missing = guard.check("GET", "/master/state", {})
    assert missing.status == 401 and missing.headers["WWW-Authenticate"] == 'Basic realm="mesos"'
    assert guard.check("GET", "/master/state", _basic("v:wrong")).status == 401
    assert guard.check("GET", "/master/state", _basic("v:v")).principal == "v"
    assert guard.check("GET", "/version", {}).status == 0
    assert guard.check("GET", "/metrics/snapshot", _basic("v:v")).status == 403
    assert guard.check("GET", "/metrics/snapshot", _basic("ops:o")).status == 0
    assert guard.check("POST", "/quota", {}).status == 0  # readwrite not required; anonymous
    assert guard.refused.snapshot() == {"readonly:get_endpoints_refused": 1, "readonly:missing_credentials": 1,
                                        "readonly:wrong_credentials": 1}
    assert basic_credentials("Basic !!!") is None and basic_credentials("Bearer x") is None
    assert request_class("POST", "/api/v1/scheduler") == "frameworks"
    assert request_class("DELETE", "/quota/web") == "readwrite"


def test_state_shows_a_principal_only_what_it_may_see():
    acls = parse_acls(json.dumps({
        "view_frameworks": [{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                            {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                            {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
        "view_tasks": [{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                       {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
        "permissive": False}))
    state = {"frameworks": [{"id": "a", "user": "alice", "tasks": [{"id": "t1"}, {"id": "t2", "user": "root"}]},
                            {"id": "b", "user": "bob", "tasks": [{"id": "t3"}]}],
             "completed_frameworks": [], "slaves": [{"id": "s"}]}
    alice = filter_state(acls, "alice", state)
    assert [f["id"] for f in alice["frameworks"]] == ["a"]
    assert [t["id"] for t in alice["frameworks"][0]["tasks"]] == ["t1"]
    assert [f["id"] for f in filter_state(acls, "ops", state)["frameworks"]] == ["a", "b"]
    assert filter_state(acls, None, state)["frameworks"] == []
    assert len(state["frameworks"][0]["tasks"]) == 2  # the input is not changed
