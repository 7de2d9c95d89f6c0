"""``--acls`` against a real mesopy-master and mesopy-agent over HTTP: the operator calls (v0 and v1)
refused with a 403 naming the action and allowed for the principal the ACL names, counted; the v1
views, the state summary, the operator event stream and the agent's /state show a principal only
its frameworks; the agent's sandbox files need access_sandboxes. Two real frameworks (users alice
and bob) run a task each. One cluster for the module."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver
from frameworks.command import CommandScheduler
from tests.integration.http_support import wait_until
from tests.integration.operators_support import Script, free_port, kill_executors_under, start_or_close
from tests.integration.v1_client import JSON_HEADERS, Subscription, post

pytestmark = pytest.mark.integration

ANY, NONE = {"type": "ANY"}, {"type": "NONE"}
EVERYONE = {"values": ["alice", "ops"]}


def _acl(key: str, ops: Any, alice: Any = None) -> list[dict[str, Any]]:
    """ops may do it on ``ops``, alice on ``alice`` (if given), nobody else anything."""
    out = [{"principals": {"values": ["ops"]}, key: ops}]
    if alice is not None:
        out.append({"principals": {"values": ["alice"]}, key: alice})
    return [*out, {"principals": ANY, key: NONE}]


ACLS = {
    "view_frameworks": _acl("users", ANY, {"values": ["alice"]}),
    "view_tasks": _acl("users", ANY, {"values": ["alice"]}),
    "view_executors": _acl("users", ANY, {"values": ["alice"]}),
    "access_sandboxes": _acl("users", ANY, {"values": ["alice"]}),
    "teardown_frameworks": _acl("framework_principals", ANY),
    "reserve_resources": _acl("roles", {"values": ["eng"]}),
    "unreserve_resources": _acl("reserver_principals", {"values": ["ops"]}),
    "create_volumes": _acl("roles", {"values": ["eng"]}),
    "destroy_volumes": _acl("creator_principals", {"values": ["ops"]}),
    "update_quotas": _acl("roles", {"values": ["eng"]}),
    "view_roles": _acl("roles", ANY, {"values": ["eng/%"]}),  # alice: every role below eng, not eng itself
}
SECRETS = {"alice": "alice-secret", "ops": "ops-secret"}
OPERATOR = "/api/v1"


def auth(principal: str | None) -> dict[str, str]:
    if principal is None:
        return dict(JSON_HEADERS)
    token = base64.b64encode(f"{principal}:{SECRETS[principal]}".encode()).decode()
    return {**JSON_HEADERS, "Authorization": f"Basic {token}"}


class Sleepy:
    """A real framework of ``user`` (principal fw-<user>, role eng/<user>) with one running ``sleep 600``
    task (one that outlives a module run on a loaded machine: the views tested show it running)."""

    def __init__(self, master: str, user: str) -> None:
        self.running = threading.Event()
        scheduler = CommandScheduler("sleep 600", "cpus:0.1;mem:32", name=f"sleep-{user}",
                                     progress=lambda line: self.running.set() if line.endswith("RUNNING") else None)
        self.scheduler = scheduler
        self.driver = MesosSchedulerDriver(scheduler, {"user": user, "name": f"sleep-{user}",
                                                       "principal": f"fw-{user}", "role": f"eng/{user}"}, master)
        self.driver.start()

    def stop(self) -> None:
        self.driver.stop()
        self.driver.join(10)


class AclCluster:
    def __init__(self, tmp: Any) -> None:
        creds = tmp / "credentials.json"
        creds.write_text(json.dumps({"credentials": [{"principal": p, "secret": s} for p, s in SECRETS.items()]}))
        acls = tmp / "acls.json"
        acls.write_text(json.dumps(ACLS))
        self.tmp = tmp
        self.scripts: list[Script] = []
        self.frameworks: list[Sleepy] = []
        start_or_close(lambda: self._boot(creds, acls), self.close)

    def _boot(self, creds: Any, acls: Any) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.scripts.append(Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1",
                                   f"--credentials={creds}", f"--acls={acls}"))
        self.http = self.scripts[0].wait_for("http_ready")["url"].rstrip("/")
        agent = Script("mesopy-agent", f"--master={self.address}", "--port=0", f"--work_dir={self.tmp / 'agent'}",
                       "--resources=cpus:2;mem:1024;disk:1000", "--switch_user=false",
                       f"--acls={acls}", f"--http_credentials={creds}")
        self.scripts.append(agent)
        self.agent_http = agent.wait_for("http_ready")["url"].rstrip("/")
        agent.wait_for("agent_registered")
        self.frameworks.extend(Sleepy(self.address, user) for user in ("alice", "bob"))
        for fw in self.frameworks:
            assert fw.running.wait(30), "the sleep task did not start"
        self.agent_id = self.get("/master/state", "ops")["slaves"][0]["id"]

    def get(self, path: str, principal: str | None, base: str | None = None) -> Any:
        status, body = self.request("GET", path, principal, base=base)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def request(self, method: str, path: str, principal: str | None, body: Any = b"", base: str | None = None,
                form: bool = False) -> tuple[int, str]:
        headers = auth(principal)
        if form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, _, data = post(base or self.http, body, headers, path=path, method=method)
        return status, data.decode()

    def call(self, kind: str, principal: str | None, body: Any = None) -> tuple[int, str]:
        return self.request("POST", OPERATOR, principal, {"type": kind, **({kind.lower(): body} if body else {})})

    def metrics(self) -> dict[str, float]:
        return dict(self.get("/metrics/snapshot", "ops"))

    def close(self) -> None:
        for fw in self.frameworks:
            fw.stop()
        for script in self.scripts:
            script.kill()
        kill_executors_under(str(self.tmp))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[AclCluster]:
    c = AclCluster(tmp_path_factory.mktemp("acls"))
    try:
        yield c
    finally:
        c.close()


def reserved(what: str, value: float, principal: str = "ops") -> list[dict[str, Any]]:
    return [{"name": what, "type": "SCALAR", "scalar": {"value": value},
             "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": principal}]}]


def test_operator_calls_are_refused_with_403_naming_the_action_and_allowed_by_the_acl(cluster: AclCluster) -> None:
    quota = {"role": "eng", "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}]}
    status, text = cluster.request("POST", "/quota", "alice", quota)
    assert status == 403 and "update_quota" in text and "'alice'" in text, text
    assert cluster.call("UPDATE_QUOTA", None, {"quota_configs": [{"role": "eng"}]})[0] == 403
    assert cluster.request("POST", "/quota", "ops", quota)[0] == 200
    assert cluster.request("DELETE", "/quota/eng", "alice")[0] == 403
    assert cluster.request("DELETE", "/quota/eng", "ops")[0] == 200

    cpus = reserved("cpus", 0.5)
    form = f"slaveId={cluster.agent_id}&resources={json.dumps(cpus)}".encode()
    status, text = cluster.request("POST", "/reserve", "alice", form, form=True)
    assert status == 403 and "reserve_resources" in text, text
    body = {"agent_id": {"value": cluster.agent_id}, "resources": cpus}
    assert cluster.call("RESERVE_RESOURCES", None, body)[0] == 403
    assert cluster.call("RESERVE_RESOURCES", "ops", body)[0] == 202
    status, text = cluster.request("POST", "/unreserve", "alice", form, form=True)
    assert status == 403 and "unreserve_resources" in text, text
    assert cluster.request("POST", "/unreserve", "ops", form, form=True)[0] == 202

    disk = reserved("disk", 100)
    assert cluster.call("RESERVE_RESOURCES", "ops", {"agent_id": {"value": cluster.agent_id}, "resources": disk})[0] == 202
    vol = [dict(disk[0], scalar={"value": 64}, disk={"persistence": {"id": "db", "principal": "ops"},
                                                      "volume": {"container_path": "data", "mode": "RW"}})]
    volumes = {"agent_id": {"value": cluster.agent_id}, "volumes": vol}
    status, text = cluster.call("CREATE_VOLUMES", "alice", volumes)
    assert status == 403 and "create_volumes" in text, text
    wait_until(lambda: cluster.call("CREATE_VOLUMES", "ops", volumes)[0] == 202, "the volume created")
    status, text = cluster.request("POST", "/destroy-volumes", "alice",
                                   {"slaveId": cluster.agent_id, "volumes": vol})
    assert status == 403 and "destroy_volumes" in text, text
    assert cluster.call("DESTROY_VOLUMES", "ops", volumes)[0] == 202

    metrics = cluster.metrics()
    for action, refused in (("update_quota", 3), ("reserve_resources", 2), ("unreserve_resources", 1),
                            ("create_volumes", 1), ("destroy_volumes", 1)):
        assert metrics[f"master/security/{action}/not_authorized"] == refused, action


def _framework_names(frameworks: list[dict[str, Any]]) -> list[str]:
    return sorted(f["framework_info"]["name"] for f in frameworks)


def test_the_views_and_the_event_stream_show_a_principal_only_its_frameworks(cluster: AclCluster) -> None:
    for principal, names in (("alice", ["sleep-alice"]), ("ops", ["sleep-alice", "sleep-bob"]), (None, [])):
        status, text = cluster.call("GET_STATE", principal)
        state = json.loads(text)["get_state"]
        assert _framework_names(state["get_frameworks"]["frameworks"]) == names, principal
        assert len(state["get_tasks"]["tasks"]) == len(names)
        frameworks = json.loads(cluster.call("GET_FRAMEWORKS", principal)[1])["get_frameworks"]["frameworks"]
        assert _framework_names(frameworks) == names
        assert len(json.loads(cluster.call("GET_TASKS", principal)[1])["get_tasks"]["tasks"]) == len(names)
        summary = cluster.get("/master/state-summary", principal)
        assert sorted(f["name"] for f in summary["frameworks"]) == names
        assert summary["slaves"][0]["TASK_RUNNING"] == len(names)
        agent = cluster.get("/state", principal, base=cluster.agent_http)
        assert sorted(f["name"] for f in agent["frameworks"]) == names
        assert sum(len(e["tasks"]) for f in agent["frameworks"] for e in f["executors"]) == len(names)
        status, text = cluster.request("POST", OPERATOR, principal, {"type": "GET_STATE"}, base=cluster.agent_http)
        v1 = json.loads(text)["get_state"]
        assert _framework_names(v1["get_frameworks"]["frameworks"]) == names
        assert len(v1["get_tasks"]["launched_tasks"]) == len(v1["get_executors"]["executors"]) == len(names)
    bob = cluster.frameworks[1].scheduler.framework_id
    assert cluster.request("GET", f"/master/allocation?framework_id={bob}", "alice")[0] == 404
    assert cluster.get(f"/master/allocation?framework_id={bob}", "ops")["framework"]
    stream = Subscription(cluster.http, {"type": "SUBSCRIBE"}, path=OPERATOR, headers=auth("alice"))
    try:
        subscribed = stream.next("SUBSCRIBED")["subscribed"]["get_state"]
        assert _framework_names(subscribed["get_frameworks"]["frameworks"]) == ["sleep-alice"]
    finally:
        stream.conn.close()


def _role_frameworks(roles: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {r["name"]: sorted(f["value"] if isinstance(f, dict) else f for f in r["frameworks"]) for r in roles}


def test_role_listings_show_the_roles_view_roles_allows_and_no_hidden_framework(cluster: AclCluster) -> None:
    alice, bob = (fw.scheduler.framework_id for fw in cluster.frameworks)
    quota = {"role": "eng", "guarantee": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.2}}]}
    assert cluster.request("POST", "/quota", "ops", quota)[0] == 200
    body = {"agent_id": {"value": cluster.agent_id}, "resources": reserved("cpus", 0.25)}
    assert cluster.call("RESERVE_RESOURCES", "ops", body)[0] == 202
    wait_until(lambda: "eng" in cluster.get("/master/state", "ops")["slaves"][0]["reserved_resources"],
               "the reservation in the state")
    try:
        everything = {"eng": [], "eng/alice": [alice], "eng/bob": [bob]}
        for principal, roles in (("ops", everything), ("alice", {"eng/alice": [alice], "eng/bob": []}), (None, {})):
            assert _role_frameworks(cluster.get("/master/roles", principal)["roles"]) == roles, principal
            v1 = json.loads(cluster.call("GET_ROLES", principal)[1])["get_roles"]["roles"]
            assert _role_frameworks(v1) == {r: f for r, f in roles.items() if r != "eng"}, principal  # no quota roles
            quotas = ["eng"] if principal == "ops" else []
            v0 = cluster.get("/quota", principal)
            assert [c["role"] for c in v0.get("configs", [])] == quotas, principal
            v1 = json.loads(cluster.call("GET_QUOTA", principal)[1])["get_quota"]["status"]
            assert [c["role"] for c in v1.get("configs", [])] == quotas, principal
            state = cluster.get("/master/state", principal)
            assert [c["role"] for c in state["quota"].get("configs", [])] == quotas
            for agent in (state["slaves"][0], cluster.get("/master/slaves", principal)["slaves"][0]):
                assert sorted(agent["reserved_resources"]) == quotas, principal
                assert sorted(agent["reserved_resources_full"]) == quotas
            status, text = cluster.call("GET_AGENTS", principal)
            total = json.loads(text)["get_agents"]["agents"][0]["total_resources"]
            assert ("eng" in {r["role"] for r in total}) is (principal == "ops"), principal
            shares = cluster.get("/master/shares", principal)
            assert sorted(shares["roles"]) == sorted(r for r in roles if r != "eng"), principal  # frameworks' roles
            assert sorted(shares["frameworks"]) == sorted({f for fs in roles.values() for f in fs})
        stream = Subscription(cluster.http, {"type": "SUBSCRIBE"}, path=OPERATOR, headers=auth("alice"))
        try:
            agents = stream.next("SUBSCRIBED")["subscribed"]["get_state"]["get_agents"]["agents"]
            assert "eng" not in {r["role"] for r in agents[0]["total_resources"]}
        finally:
            stream.conn.close()
        siblings = cluster.get(f"/master/allocation?framework_id={alice}", "alice")["allocator"]["siblings"]
        assert [s["framework_id"] for fs in siblings.values() for s in fs] == [alice]
    finally:
        assert cluster.request("DELETE", "/quota/eng", "ops")[0] == 200
        assert cluster.call("UNRESERVE_RESOURCES", "ops", body)[0] == 202


def _sandboxes(cluster: AclCluster) -> dict[str, str]:
    state = cluster.get("/state", "ops", base=cluster.agent_http)
    return {f["user"]: f["executors"][0]["directory"] for f in state["frameworks"]}


def test_sandbox_files_need_access_sandboxes_on_the_executors_user(cluster: AclCluster) -> None:
    sandboxes = _sandboxes(cluster)
    for principal, user, allowed in (("alice", "alice", True), ("alice", "bob", False), ("ops", "bob", True),
                                     (None, "alice", False)):
        for what in ("browse", "read"):
            path = sandboxes[user] + ("/stdout" if what == "read" else "")
            status, text = cluster.request("GET", f"/files/{what}?path={path}", principal, base=cluster.agent_http)
            assert (status == 200) is allowed, (principal, user, what, status, text)
            if not allowed:
                assert status == 403 and "access_sandboxes" in text, text
    for principal, allowed in (("alice", False), ("ops", True)):
        call = {"type": "LIST_FILES", "list_files": {"path": sandboxes["bob"]}}
        status, text = cluster.request("POST", OPERATOR, principal, call, base=cluster.agent_http)
        assert (status == 200) is allowed and (allowed or "access_sandboxes" in text), (principal, status, text)
        call = {"type": "READ_FILE", "read_file": {"path": sandboxes["bob"] + "/stdout", "offset": 0}}
        status, text = cluster.request("POST", OPERATOR, principal, call, base=cluster.agent_http)
        assert (status == 200) is allowed, (principal, status, text)
    # through the master (the web UI's way): the agent checks the same credentials
    for principal, user, status in (("alice", "alice", 200), ("alice", "bob", 403), ("ops", "bob", 200)):
        path = f"/agent/{cluster.agent_id}/files/browse?path={sandboxes[user]}"
        assert cluster.request("GET", path, principal)[0] == status, (principal, user)
    assert cluster.request("GET", f"/agent/nope/files/browse?path={sandboxes['bob']}", "ops")[0] == 404
    assert cluster.request("GET", f"/agent/{cluster.agent_id}/state", "ops")[0] == 404  # only /files/browse, read
    metrics = cluster.get("/metrics/snapshot", "ops", base=cluster.agent_http)
    assert metrics["slave/http_security/readonly/access_sandboxes_refused"] == 5
    assert metrics["slave/http_security/readwrite/access_sandboxes_refused"] == 2


def test_teardown_needs_teardown_frameworks(cluster: AclCluster) -> None:
    bob = cluster.frameworks[1].scheduler.framework_id
    assert bob is not None
    status, text = cluster.request("POST", "/teardown", "alice", f"frameworkId={bob}".encode(), form=True)
    assert status == 403 and "teardown_frameworks" in text and "fw-bob" in text, text
    assert cluster.call("TEARDOWN", "alice", {"framework_id": {"value": bob}})[0] == 403
    assert cluster.get("/master/frameworks", "ops")["frameworks"][-1]["active"]
    assert cluster.request("POST", "/teardown", "ops", f"frameworkId={bob}".encode(), form=True)[0] == 200
    wait_until(lambda: bob not in [f["id"] for f in cluster.get("/master/frameworks", "ops")["frameworks"]],
               "bob's framework torn down")
    assert cluster.metrics()["master/security/teardown_frameworks/not_authorized"] == 2
