"""The ACL matrix on the pure cores: for each action, the object Mesos' local authorizer checks it
against, allowed and refused; the framework's offer operations dropped and counted when refused;
the v1 views, event stream, state summary and the agent's state showing only what a principal
may see; the agent's sandbox owner for access_sandboxes, and the master's route to an agent's files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.agent.config import AgentConfig, ConfigError
from actors.agent.files import SandboxFiles
from actors.agent.tasks import TaskTable
from actors.master.http_agent_files import agent_files_target
import actors.master.operator_views as ov
from actors.master.views import summary_view
from actors.resources import Resources
from actors.security.acls import ACTIONS, parse_acls
from actors.security.objects import executor_user, operation_objects, refusal, resource_objects
from actors.security.visibility import viewer
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from tests.unit.test_reservations import MULTI, accept, offer_of, reserve_op, reserved
from tests.unit.test_volumes import create, volume
from transport import messages as m

R = Resources.parse


def only(action: str, principal: str, obj: str, permissive: bool = True) -> Any:
    """ACLs letting ``principal`` do ``action`` on ``obj`` only; everyone else nothing."""
    key, object_key = ACTIONS[action]
    return parse_acls(json.dumps({key: [{"principals": {"values": [principal]}, object_key: {"values": [obj]}},
                                        {"principals": {"type": "ANY"}, object_key: {"type": "NONE"}}],
                                  "permissive": permissive}))


# (action, a request's object, another object) for every action mesopy enforces
MATRIX = [
    ("register_frameworks", "web", "batch"), ("run_tasks", "www", "root"),
    ("teardown_frameworks", "fw-principal", "other"), ("reserve_resources", "eng", "dev"),
    ("unreserve_resources", "ops", "mallory"), ("create_volumes", "eng", "dev"),
    ("destroy_volumes", "ops", "mallory"), ("update_quota", "eng", "dev"),
    ("view_frameworks", "alice", "bob"), ("view_tasks", "alice", "bob"), ("view_executors", "alice", "bob"),
    ("access_sandboxes", "alice", "bob"), ("get_endpoints", "/metrics/snapshot", "/master/flags"),
]


@pytest.mark.parametrize("action,obj,other", MATRIX)
def test_each_action_is_allowed_only_on_its_object_and_refusals_name_it(action: str, obj: str, other: str) -> None:
    acls = only(action, "p", obj)
    assert refusal(acls, action, "p", [obj]) == ""
    text = refusal(acls, action, "p", [obj, other])
    assert text == (f"Principal 'p' is not authorized to {action} "
                    f"({ACTIONS[action][1]} [{other!r}]: {ACTIONS[action][0]} ACL)")
    assert refusal(acls, action, "q", [obj]) != ""  # another principal
    assert refusal(acls, action, None, [obj]) != ""  # anonymous
    # an unknown object matches only ANY entities: then ``permissive`` decides
    assert refusal(acls, action, "p", [None]) == ""
    assert refusal(only(action, "p", obj, permissive=False), action, "p", [None]) != ""
    assert refusal(parse_acls("{}"), action, None, [other, None]) == ""  # permissive, no rules


def test_the_objects_are_mesos_ones() -> None:
    resv = reserved("cpus:1", ("eng", "ops"), ("eng/a", "bob"))
    assert resource_objects("reserve_resources", resv) == ["eng/a"]  # the last reservation's role
    assert resource_objects("unreserve_resources", resv) == ["bob"]  # ... and principal
    assert resource_objects("unreserve_resources", reserved("cpus:1", ("eng", ""))) == [""]
    legacy = [{"name": "mem", "type": "SCALAR", "scalar": {"value": 8}, "role": "eng",
               "reservation": {"principal": "p"}}]
    assert resource_objects("reserve_resources", legacy) == ["eng"]
    assert resource_objects("unreserve_resources", legacy) == ["p"]
    assert resource_objects("create_volumes", [volume()]) == ["eng"]
    assert resource_objects("destroy_volumes", [volume()]) == ["ops"]
    assert resource_objects("destroy_volumes", ["junk", 3]) == [] and resource_objects("create_volumes", None) == []
    assert operation_objects(create(volume(), kind="DESTROY")) == ("destroy_volumes", ["ops"])
    assert operation_objects({"type": "LAUNCH", "launch": {}}) is None
    assert executor_user({"command": {"user": "www"}}, "root") == "www"
    assert executor_user({"command": {}}, "root") == "root"


def _accept_setup(acls: Any) -> tuple[Harness, str, str]:
    h = Harness(acls=json.dumps(acls))
    fid = h.framework(FW, roles=["eng"], capabilities=MULTI, principal="ops")
    aid = h.agent(AGENT, "cpus:4;mem:1024;disk:1000")
    return h, fid, aid


def _rule(action: str, allowed: bool) -> dict[str, Any]:
    key, object_key = ACTIONS[action]
    objects = {"type": "ANY"} if allowed else {"type": "NONE"}
    return {key: [{"principals": {"values": ["ops"]}, object_key: objects}]}


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "refused"])
@pytest.mark.parametrize("action", ["reserve_resources", "unreserve_resources", "create_volumes", "destroy_volumes"])
def test_offer_operations_are_authorized_as_the_framework_principal(action: str, allowed: bool) -> None:
    h, fid, aid = _accept_setup(_rule(action, allowed))
    agent = h.core.agents[aid]
    disk = reserved("disk:100", ("eng", "ops"))
    accept(h, fid, offer_of(h), reserve_op(disk), *([create(volume())] if action == "destroy_volumes" else []))
    if action == "reserve_resources":
        done = agent.total == R("cpus:4;mem:1024;disk:900;disk(eng):100")
    elif action == "unreserve_resources":
        accept(h, fid, offer_of(h), reserve_op(disk, "UNRESERVE"))
        done = agent.total == R("cpus:4;mem:1024;disk:1000")
    elif action == "create_volumes":
        accept(h, fid, offer_of(h), create(volume()))
        done = "db" in agent.volumes
    else:
        accept(h, fid, offer_of(h), create(volume(), kind="DESTROY"))
        done = "db" not in agent.volumes
    assert done is allowed
    refused = h.core.security.refused.dropped("AcceptOffers", "not_authorized")
    assert refused == (0 if allowed else 1)


def test_a_refused_operation_does_not_stop_the_rest_of_the_accept() -> None:
    h, fid, aid = _accept_setup(_rule("reserve_resources", False))
    out = accept(h, fid, offer_of(h), reserve_op(reserved("cpus:1", ("eng", "ops"))), launch(task_info("t1"))[0])
    assert [t.task["task_id"]["value"] for t in of_type(out, m.RunTask)] == ["t1"]
    assert of_type(out, m.CheckpointResources) == []


def test_permit_counts_by_kind() -> None:
    h = Harness(acls=json.dumps(_rule("update_quota", False)))
    security = h.core.security
    assert security.permit("update_quota", "ops", ["eng"], "update_quota") != ""
    assert security.permit("update_quota", "other", ["eng"], "update_quota") == ""  # no rule: permissive
    assert security.refused.snapshot() == {"update_quota:not_authorized": 1}


EVERYONE = {"principals": {"type": "ANY"}}
VIEW_ACLS = {"permissive": False,
             "register_frameworks": [dict(EVERYONE, roles={"type": "ANY"})],
             "run_tasks": [dict(EVERYONE, users={"type": "ANY"})],
             "view_frameworks": [{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                                 {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
             "view_tasks": [{"principals": {"values": ["alice"]}, "users": {"values": ["alice"]}},
                            {"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}],
             "view_executors": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}}]}
BOB = "scheduler(2)@127.0.0.1:6001"


def _two_users() -> Harness:
    h = Harness(acls=json.dumps(VIEW_ACLS))
    alice = h.framework(FW, user="alice", name="a")
    bob = h.framework(BOB, user="bob", name="b")
    h.agent(AGENT, "cpus:8;mem:4096")
    for pid, fid, tasks in ((FW, alice, [task_info("a1"), task_info("a2", command={"value": "x", "user": "root"})]),
                            (BOB, bob, [task_info("b1")])):
        (offer,) = [o for msg in of_type(h.allocate(), m.ResourceOffers, pid) for o in msg.offers]
        h.send(pid, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=launch(*tasks),
                                   filters={}))
    return h


def test_the_v1_views_and_the_summary_show_what_a_principal_may_see() -> None:
    h = _two_users()
    core = h.core
    seen = {p: viewer(core.security.acls, p) for p in ("alice", "ops", None)}
    assert viewer(parse_acls("{}"), None) is None
    names = {p: [f["framework_info"]["name"] for f in ov.get_frameworks(core, v)["frameworks"]] for p, v in seen.items()}
    assert names == {"alice": ["a"], "ops": ["a", "b"], None: []}
    tasks = {p: sorted(t["task_id"]["value"] for t in ov.get_tasks(core, v)["tasks"]) for p, v in seen.items()}
    assert tasks == {"alice": ["a1"], "ops": ["a1", "a2", "b1"], None: []}
    state = ov.get_state(core, seen["alice"])
    assert [t["task_id"]["value"] for t in state["get_tasks"]["tasks"]] == ["a1"]
    assert state["get_executors"]["executors"] == []  # view_executors: ops only
    assert len(state["get_agents"]["agents"]) == 1
    summary = summary_view(core, h.now, seen["alice"])
    assert [f["name"] for f in summary["frameworks"]] == ["a"]
    assert summary["frameworks"][0]["TASK_STAGING"] == 1 and summary["slaves"][0]["TASK_STAGING"] == 1
    assert summary_view(core, h.now, seen[None])["frameworks"] == []
    assert summary_view(core, h.now)["slaves"][0]["TASK_STAGING"] == 3
    b1 = core.frameworks[next(f for f, fw in core.frameworks.items() if fw.info["user"] == "bob")].tasks["b1"]
    assert not ov.may_see(core, seen["alice"], "task_updated", b1) and ov.may_see(core, seen["ops"], "task_added", b1)
    assert ov.may_see(core, seen[None], "agent_added", next(iter(core.agents.values())))


def test_the_agent_knows_whose_sandbox_a_path_is_in(tmp_path: Any) -> None:
    files = SandboxFiles(str(tmp_path))
    run = tmp_path / "slaves" / "S0" / "frameworks" / "F1" / "executors" / "E1" / "runs" / "c1"
    run.mkdir(parents=True)
    assert files.sandbox_of(str(run / "stdout")) == ("F1", "E1")
    assert files.sandbox_of(str(tmp_path / "slaves" / "S0" / "frameworks")) is None
    table = TaskTable()
    table.add_framework("F1", {"user": "alice"}, "s@h:1")
    table.add_task("F1", task_info("t1", command={"value": "true"}), "c1")
    table.add_task("F1", task_info("t2", command={"value": "true", "user": "www"}), "c2")
    assert (table.sandbox_user("F1", "t1"), table.sandbox_user("F1", "t2")) == ("alice", "www")
    table.remove_executor("F1", "t1")
    table.remove_executor("F1", "t2")
    assert (table.sandbox_user("F1", "t1"), table.sandbox_user("F1", "t2")) == ("alice", "www")  # remembered
    assert table.sandbox_user("F1", "nope") is None


def test_agent_security_flags(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="--authenticate_http_readonly needs --http_credentials"):
        AgentConfig(authenticate_http_readonly=True).validate()
    with pytest.raises(ConfigError, match="--acls"):
        AgentConfig(acls="{not json").validate()
    creds = tmp_path / "c.json"
    creds.write_text(json.dumps({"credentials": [{"principal": "ops", "secret": "s"}]}))
    config = AgentConfig(work_dir=str(tmp_path), http_credentials=str(creds), authenticate_http_readonly=True).validate()
    assert config.http_authenticate() == frozenset({"readonly"}) and set(config.load_security()[0]) == {"ops"}


def test_the_masters_agent_files_route_reaches_only_the_agents_browse_and_read() -> None:
    assert agent_files_target("/agent/a-S0/files/read") == ("a-S0", "/files/read")
    assert agent_files_target("/agent/a-S0/files/browse") == ("a-S0", "/files/browse")
    for path in ("/agent/a-S0/files/download", "/agent/a-S0/state", "/agent//files/read", "/agent/a-S0",
                 "/agent/a-S0/files/read/x", "/master/state"):
        assert agent_files_target(path) is None, path
