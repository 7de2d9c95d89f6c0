"""Security on (authentication, ACLs, HTTP Basic) against real mesopy-master and mesopy-agent processes,
with raw ZeroMQ sockets for what a well-behaved client would never send. Each refusal is counted
(``message_not_entitled`` events, /metrics/snapshot) and leaves nothing in the cluster's state."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.errors import RemoteError
from actors.security.client import Authenticatee
from tests.integration.operators_support import Script, StateClient, free_port, run_script
from tests.integration.test_forged_messages import Attacker, Sleeper, attacker  # noqa: F401 (a fixture)
from transport import messages as m

pytestmark = pytest.mark.integration

SECRET = "fw-secret"
ACLS = {
    "permissive": True,
    "register_frameworks": [{"principals": {"values": ["fw"]}, "roles": {"values": ["*", "web"]}},
                            {"principals": {"type": "ANY"}, "roles": {"values": ["web"]}},
                            {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
    "run_tasks": [{"principals": {"values": ["fw"]}, "users": {"type": "ANY"}},
                  {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
    "view_frameworks": [{"principals": {"values": ["ops"]}, "users": {"type": "ANY"}},
                        {"principals": {"type": "ANY"}, "users": {"type": "NONE"}}],
    "get_endpoints": [{"principals": {"values": ["ops"]}, "paths": {"type": "ANY"}},
                      {"principals": {"type": "ANY"}, "paths": {"type": "NONE"}}],
}


class SecureCluster:
    def __init__(self, scripts: list[Script], tmp: Path, *agent_flags: str) -> None:
        creds = tmp / "credentials.json"
        creds.write_text(json.dumps({"credentials": [
            {"principal": "fw", "secret": SECRET}, {"principal": "agent", "secret": "agent-secret"},
            {"principal": "ops", "secret": "ops-secret"}, {"principal": "viewer", "secret": "viewer-secret"}]}))
        (tmp / "agent.cred").write_text("agent agent-secret\n")
        (tmp / "acls.json").write_text(json.dumps(ACLS))
        self.tmp = tmp
        port, http = free_port(), free_port()
        self.address = f"127.0.0.1:{port}"
        self.master_pid = f"master@{self.address}"
        self.http = f"http://127.0.0.1:{http}"
        self.master = Script("mesopy-master", f"--port={port}", f"--http_port={http}", "--allocation_interval=0.1",
                             "--authenticate_frameworks", "--authenticate_agents", "--authenticate_http_readonly",
                             f"--credentials={creds}", f"--acls={tmp / 'acls.json'}")
        scripts.append(self.master)
        self.master.wait_for("master_started")
        self.agent = self.start_agent(scripts, "a1", f"--credential={tmp / 'agent.cred'}",
                                      "--authenticate_http_executors", *agent_flags)
        self.agent_pid = str(self.agent.wait_for("agent_started")["pid"])
        self.agent.wait_for("agent_registered")

    def start_agent(self, scripts: list[Script], name: str, *flags: str) -> Script:
        agent = Script("mesopy-agent", f"--master={self.address}", "--port=0", f"--work_dir={self.tmp / name}",
                       "--resources=cpus:1;mem:512;disk:512", *flags)
        scripts.append(agent)
        return agent

    def state(self) -> dict[str, Any]:
        """/master/state as the operator sees it (over ZeroMQ a peer must authenticate first)."""
        status, _, body = get(self.http + "/master/state", "ops:ops-secret")
        assert status == 200, body
        return json.loads(body)

    def execute(self, *flags: str) -> Any:
        return run_script("mesopy-execute", f"--master={self.address}", "--name=t", "--command=echo secured",
                          "--resources=cpus:0.1;mem:32", "--timeout=60", *flags, timeout=90)

    def metrics(self) -> dict[str, float]:
        status, _, body = get(self.http + "/metrics/snapshot", "ops:ops-secret")
        assert status == 200, body
        return json.loads(body)


def get(url: str, auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def cluster(scripts: list[Script], tmp_path: Path) -> Iterator[SecureCluster]:
    yield SecureCluster(scripts, tmp_path)


def test_a_framework_with_the_right_secret_runs_and_a_wrong_one_is_refused(cluster: SecureCluster) -> None:
    ok = cluster.execute("--principal=fw", f"--secret={SECRET}")
    assert ok.returncode == 0 and "FINISHED" in ok.stdout, ok.stdout + ok.stderr
    wrong = cluster.execute("--principal=fw", "--secret=guess")
    assert wrong.returncode != 0
    assert "is not authenticated" in wrong.stdout + wrong.stderr
    assert "authentication as 'fw' was refused: Authentication failed" in wrong.stdout + wrong.stderr
    assert cluster.master.wait_for("message_not_entitled", type="AuthenticationResponse")["reason"] == "wrong_proof"
    none = cluster.execute("--principal=fw")
    assert none.returncode != 0 and "is not authenticated" in none.stdout + none.stderr
    state = cluster.state()
    assert len(state["frameworks"]) == 0 and len(state["completed_frameworks"]) == 1  # only the good one
    metrics = cluster.metrics()
    assert metrics["master/security/authentication_response/wrong_proof"] == 1
    assert metrics["master/security/register_framework/not_authenticated"] >= 1


def test_an_agent_without_credentials_is_refused(cluster: SecureCluster, scripts: list[Script]) -> None:
    intruder = cluster.start_agent(scripts, "a2")
    refusal = intruder.wait_for("authentication_refused")
    assert "--authenticate_agents" in refusal["message"]
    assert cluster.master.wait_for("message_not_entitled", type="RegisterAgent")["reason"] == "not_authenticated"
    wrong = cluster.tmp / "wrong.cred"
    wrong.write_text('{"principal": "agent", "secret": "nope"}')
    impostor = cluster.start_agent(scripts, "a3", f"--credential={wrong}")
    assert "Authentication failed" in impostor.wait_for("authentication_refused")["message"]
    state = cluster.state()
    assert [a["pid"] for a in state["slaves"]] == [cluster.agent_pid]
    assert cluster.metrics()["master/security/register_agent/not_authenticated"] >= 1


def test_a_replayed_exchange_is_refused(cluster: SecureCluster, attacker: Attacker) -> None:
    # A legitimate exchange from the attacker's socket (it knows the secret here), recorded.
    client = Authenticatee("fw", SECRET)
    start = client.start(attacker.pid, cluster.master_pid, 0.0)
    attacker.send(cluster.master_pid, start)
    challenge = attacker.receive().message
    assert isinstance(challenge, m.AuthenticationChallenge)
    response = client.response(cluster.master_pid, challenge)
    assert response is not None
    attacker.send(cluster.master_pid, response)
    assert isinstance(attacker.receive().message, m.AuthenticationCompleted)
    # Replayed as it was: the exchange is over.
    attacker.send(cluster.master_pid, response)
    assert isinstance(attacker.receive().message, m.AuthenticationFailed)
    # Replayed whole from another pid that does not know the secret: the master's nonce is new.
    other = Attacker()
    try:
        other.send(cluster.master_pid, start)
        assert isinstance(other.receive().message, m.AuthenticationChallenge)
        other.send(cluster.master_pid, response)
        failed = other.receive().message
        assert isinstance(failed, m.AuthenticationFailed) and "Authentication failed" in failed.message
        other.send(cluster.master_pid, m.RegisterFramework(framework={"name": "replayed", "principal": "fw"}))
        error = other.receive().message
        assert isinstance(error, m.FrameworkError) and "is not authenticated" in error.message
    finally:
        other.close()
    metrics = cluster.metrics()
    assert metrics["master/security/authentication_response/no_exchange"] == 1
    assert metrics["master/security/authentication_response/wrong_proof"] == 1
    assert not [f for f in cluster.state()["frameworks"] if f["name"] == "replayed"]


def test_an_executor_without_its_token_is_refused(cluster: SecureCluster, attacker: Attacker) -> None:
    sleeper = Sleeper(cluster, principal="fw", secret=SECRET)
    try:
        (executor_id,) = {sleeper.task_id}  # the command executor's id is its task's
        for token in ("", secrets.token_urlsafe(32)):
            attacker.send(cluster.agent_pid, m.RegisterExecutor(framework_id=sleeper.framework_id,
                                                                executor_id=executor_id, token=token))
        reasons = {cluster.agent.wait_for("message_not_entitled", type="RegisterExecutor")["reason"]
                   for _ in range(2)}
        assert reasons == {"missing_executor_token", "wrong_executor_token"}
        sleeper.still_running(cluster)
    finally:
        sleeper.stop()


def test_the_register_frameworks_acl_refuses_a_role(cluster: SecureCluster) -> None:
    # fw may use roles * and web; nobody may register in another role (NONE)
    refused_role = cluster.execute("--principal=fw", f"--secret={SECRET}", "--role=batch")
    assert refused_role.returncode != 0 and "Not authorized to use roles ['batch']" in \
        refused_role.stdout + refused_role.stderr
    allowed = cluster.execute("--principal=fw", f"--secret={SECRET}", "--role=web")
    assert allowed.returncode == 0 and "FINISHED" in allowed.stdout, allowed.stdout + allowed.stderr
    metrics = cluster.metrics()
    assert metrics["master/security/register_framework/not_authorized"] == 1


def test_http_needs_credentials_and_state_shows_only_what_a_principal_may_see(cluster: SecureCluster) -> None:
    sleeper = Sleeper(cluster, principal="fw", secret=SECRET)
    try:
        status, headers, _ = get(cluster.http + "/master/state")
        assert status == 401 and headers.get("WWW-Authenticate") == 'Basic realm="mesos"'
        assert get(cluster.http + "/master/state", "ops:wrong")[0] == 401
        assert get(cluster.http + "/version")[0] == 200
        ops = json.loads(get(cluster.http + "/master/state", "ops:ops-secret")[2])
        viewer = json.loads(get(cluster.http + "/master/state", "viewer:viewer-secret")[2])
        assert [f["name"] for f in ops["frameworks"]] == ["sleeper"]
        assert viewer["frameworks"] == [] and len(viewer["slaves"]) == 1
        tasks = json.loads(get(cluster.http + "/master/tasks", "viewer:viewer-secret")[2])
        assert tasks["tasks"] == []
        assert len(json.loads(get(cluster.http + "/master/tasks", "ops:ops-secret")[2])["tasks"]) == 1
        assert get(cluster.http + "/metrics/snapshot", "viewer:viewer-secret")[0] == 403
        anonymous = run_script("mesopy", "frameworks", f"--master={cluster.http}")
        assert anonymous.returncode != 0 and "HTTP 401" in anonymous.stderr
        ops_cli = run_script("mesopy", "frameworks", f"--master={cluster.http}", "--principal=ops",
                             env={**os.environ, "MESOPY_SECRET": "ops-secret"})
        assert ops_cli.returncode == 0 and "sleeper" in ops_cli.stdout, ops_cli.stderr
        metrics = cluster.metrics()
        assert metrics["master/http_security/readonly/missing_credentials"] == 2
        assert metrics["master/http_security/readonly/wrong_credentials"] == 1
        assert metrics["master/http_security/readonly/get_endpoints_refused"] == 1
    finally:
        sleeper.stop()


def test_the_state_over_zeromq_needs_an_authenticated_peer(cluster: SecureCluster) -> None:
    client = StateClient(cluster.address)
    try:
        with pytest.raises(RemoteError, match="needs an authenticated peer"):
            client.asker.request(client.master, m.MasterStateRequest(), timeout=5.0).result(6.0)
    finally:
        client.close()
    assert cluster.metrics()["master/security/master_state_request/not_authenticated"] == 1


def test_security_flag_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "acls.json"
    bad.write_text('{"run_tasks": [{"principals": {"type": "ALL"}, "users": {"type": "ANY"}}]}')
    for name, args, needle in (
        ("mesopy-master", ["--authenticate_agents"], "needs --credentials"),
        ("mesopy-master", [f"--acls={bad}"], "must be ANY or NONE"),
        ("mesopy-master", [f"--credentials={tmp_path / 'missing'}"], "cannot read"),
        ("mesopy-agent", ["--master=127.0.0.1:5050", f"--work_dir={tmp_path}", f"--credential={bad}"],
         "principal must be"),
        ("mesopy-execute", ["--master=127.0.0.1:5050", "--command=true", "--secret=x"], "needs --principal"),
    ):
        result = run_script(name, "--port=0", *args) if name != "mesopy-execute" else run_script(name, *args)
        assert result.returncode == 2, (name, args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (name, result.stderr)


def test_mesopy_local_secure_runs_a_task_with_generated_credentials() -> None:
    result = run_script("mesopy-local", "--secure", "--run", "echo hi-secure", "--timeout=60", timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hi-secure"
    assert "secured: principals and secrets in " in result.stderr
