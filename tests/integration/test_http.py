"""The HTTP endpoints of a real mesopy-master and mesopy-agent (OS processes):
Mesos' JSON shapes, counts that follow tasks, the sandbox file API and its
confinement, bad input, a slow client, CORS."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import HttpCluster, fetch, get_json, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path_factory.mktemp("http")))
    yield c
    c.close()


def metric(cluster: HttpCluster, name: str) -> float:
    return float(get_json(cluster.http + "/metrics/snapshot")[name])


def running_task(cluster: HttpCluster, name: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        tasks = get_json(cluster.http + "/master/tasks")["tasks"]
        return next((t for t in tasks if t["name"] == name and t["state"] == "TASK_RUNNING"), None)
    return wait_until(probe, f"task {name} running")


def test_state_and_metrics_follow_a_task_from_running_to_finished(cluster: HttpCluster) -> None:
    finished_before = metric(cluster, "master/tasks_finished")
    state = get_json(cluster.http + "/master/state")
    for alias in ("/state", "/state.json", "/master/state.json"):
        assert get_json(cluster.http + alias)["id"] == state["id"]
    (agent,) = state["slaves"]
    assert agent["resources"] == {"cpus": 2.0, "mem": 1024.0, "disk": 512.0, "gpus": 0.0, "ports": "[31000-32000]"}
    assert agent["address"]["port"] == int(cluster.agent_http.rpartition(":")[2])
    assert state["leader_info"]["address"]["port"] == int(cluster.http.rpartition(":")[2])
    assert state["activated_slaves"] == 1

    go = cluster.run_task("counted")
    task = running_task(cluster, "counted")
    assert task["resources"]["cpus"] == pytest.approx(0.1) and task["slave_id"] == agent["id"]
    assert metric(cluster, "master/tasks_running") >= 1
    assert metric(cluster, "master/cpus_used") >= 0.1 and metric(cluster, "master/cpus_total") == 2.0
    summary = get_json(cluster.http + "/master/state-summary")
    fw = next(f for f in summary["frameworks"] if f["id"] == task["framework_id"])
    assert fw["TASK_RUNNING"] == 1 and fw["slave_ids"] == [agent["id"]]
    assert "tasks" not in fw
    frameworks = get_json(cluster.http + "/master/frameworks")["frameworks"]
    assert [t["id"] for f in frameworks if f["id"] == task["framework_id"] for t in f["tasks"]] == [task["id"]]
    roles = {r["name"]: r for r in get_json(cluster.http + "/master/roles")["roles"]}
    assert task["framework_id"] in roles["*"]["frameworks"]
    assert get_json(cluster.http + f"/master/tasks?task_id={task['id']}")["tasks"][0]["id"] == task["id"]

    agent_state = get_json(cluster.agent_http + "/slave(1)/state")
    assert get_json(cluster.agent_http + "/state")["id"] == agent_state["id"] == agent["id"]
    executors = [e for f in agent_state["frameworks"] for e in f["executors"]]
    executor = next(e for e in executors if e["id"] == task["id"])
    assert os.path.isdir(executor["directory"]) and [t["state"] for t in executor["tasks"]] == ["TASK_RUNNING"]
    containers = get_json(cluster.agent_http + "/containers")
    assert executor["container"] in [c["container_id"] for c in containers]
    statistics = get_json(cluster.agent_http + "/monitor/statistics")
    assert task["id"] in [s["executor_id"] for s in statistics]
    assert get_json(cluster.agent_http + "/metrics/snapshot")["slave/tasks_running"] >= 1

    open(go, "w").close()
    wait_until(lambda: metric(cluster, "master/tasks_finished") == finished_before + 1, "task finished")
    ended = get_json(cluster.http + f"/master/tasks?task_id={task['id']}")["tasks"][0]
    assert ended["state"] == "TASK_FINISHED"
    assert [s["state"] for s in ended["statuses"]][-1] == "TASK_FINISHED"
    assert all(1.5e9 < s["timestamp"] < 1e11 for s in ended["statuses"])  # epoch seconds
    status, headers, body = fetch(cluster.http + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert f"master_tasks_finished {finished_before + 1}" in body.decode()


def test_version_health_flags_redirect_and_cors(cluster: HttpCluster) -> None:
    version = get_json(cluster.http + "/version")
    assert [int(p) for p in version["version"].split(".")] >= [1, 0, 0]
    for base, path in ((cluster.http, "/health"), (cluster.http, "/master/health"), (cluster.agent_http, "/health")):
        assert fetch(base + path)[0] == 200
    assert get_json(cluster.http + "/master/flags")["flags"]["allocation_interval"] == "0.1"
    assert get_json(cluster.agent_http + "/slave(1)/flags")["flags"]["http_port"] == "0"
    status, headers, _ = fetch(cluster.agent_http + "/slave(1)/state")
    assert headers["Access-Control-Allow-Origin"] == "*"
    connection = socket.create_connection(("127.0.0.1", int(cluster.http.rpartition(":")[2])))
    connection.sendall(b"GET /master/redirect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := connection.recv(4096):
        reply += chunk
    connection.close()
    assert reply.startswith(b"HTTP/1.1 307") and b"Location: //127.0.0.1:" in reply


@pytest.mark.parametrize("path, status, named", [
    ("/no/such/endpoint", 404, "/no/such/endpoint"),
    ("/master/tasks?limit=abc", 400, "limit"),
    ("/master/tasks?offset=-3", 400, "offset"),
    ("/master/tasks?order=sideways", 400, "order"),
    ("/master/tasks?limit=" + "9" * 9000, 400, ""),  # an oversized request line
])
def test_bad_requests_are_refused_naming_the_problem(cluster: HttpCluster, path: str, status: int,
                                                      named: str) -> None:
    got, _, body = fetch(cluster.http + path)
    assert got == status and named in body.decode()


def test_tasks_paging_and_order(cluster: HttpCluster) -> None:
    go = cluster.run_task("paged", instances=3)
    wait_until(lambda: len([t for t in get_json(cluster.http + "/master/tasks?limit=100")["tasks"]
                            if t["name"] == "paged" and t["state"] == "TASK_RUNNING"]) == 3, "three running")
    fid = next(t for t in get_json(cluster.http + "/master/tasks")["tasks"] if t["name"] == "paged")["framework_id"]
    asc = [t["id"] for t in get_json(cluster.http + f"/master/tasks?framework_id={fid}&order=asc")["tasks"]]
    des = [t["id"] for t in get_json(cluster.http + f"/master/tasks?framework_id={fid}&order=des")["tasks"]]
    assert len(asc) == 3 and des == asc[::-1]
    page = get_json(cluster.http + f"/master/tasks?framework_id={fid}&order=asc&limit=1&offset=1")["tasks"]
    assert [t["id"] for t in page] == asc[1:2]
    open(go, "w").close()


def test_sandbox_files_browse_read_download(cluster: HttpCluster) -> None:
    go = cluster.run_task("files")
    task = running_task(cluster, "files")
    virtual = f"/frameworks/{task['framework_id']}/executors/{task['id']}/runs/latest"
    wait_until(lambda: get_json(cluster.agent_http + f"/files/read?path={virtual}/stdout")["data"], "stdout written")
    listing = get_json(cluster.agent_http + f"/files/browse?path={virtual}")
    names = {entry["path"].rsplit("/", 1)[1]: entry for entry in listing}
    assert {"stdout", "stderr"} <= set(names) and names["stdout"]["mode"].startswith("-")
    read = get_json(cluster.agent_http + f"/files/read?path={virtual}/stdout&offset=0")
    assert read == {"offset": 0, "data": "started\n"}
    assert get_json(cluster.agent_http + f"/files/read?path={virtual}/stdout&offset=-1") == {"offset": 8, "data": ""}
    assert get_json(cluster.agent_http + f"/files/read?path={virtual}/stdout&offset=2&length=3")["data"] == "art"
    status, headers, body = fetch(cluster.agent_http + f"/files/download?path={virtual}/stdout")
    assert status == 200 and body == b"started\n" and "attachment" in headers["Content-Disposition"]
    open(go, "w").close()


def test_paths_outside_the_sandboxes_are_refused(cluster: HttpCluster, tmp_path: Any) -> None:
    go = cluster.run_task("escape")
    task = running_task(cluster, "escape")
    state = get_json(cluster.agent_http + "/slave(1)/state")
    directory = next(e["directory"] for f in state["frameworks"] for e in f["executors"] if e["id"] == task["id"])
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    os.symlink(str(secret), os.path.join(directory, "link-out"))
    os.symlink("/etc", os.path.join(directory, "etc-dir"))
    refused = [
        f"{directory}/../../../../../../meta",
        f"{directory}/../..",
        "/etc/passwd",
        str(secret),
        f"{directory}/link-out",
        f"{directory}/etc-dir/passwd",
        "relative/path",
        f"/frameworks/{task['framework_id']}/executors/{task['id']}/runs/latest/../../../../..",
    ]
    for path in refused:
        for endpoint in ("read", "browse", "download"):
            status, _, body = fetch(cluster.agent_http + f"/files/{endpoint}?path={path}")
            assert status == 403, (endpoint, path, status, body)
            assert b"not yours" not in body
    assert fetch(cluster.agent_http + f"/files/read?path={directory}/no-such-file")[0] == 404
    assert fetch(cluster.agent_http + "/files/read?path=")[0] == 400
    assert fetch(cluster.agent_http + f"/files/read?path={directory}/stdout&offset=x")[0] == 400
    open(go, "w").close()


def test_a_stuck_client_does_not_hold_up_other_requests(cluster: HttpCluster) -> None:
    port = int(cluster.http.rpartition(":")[2])
    stuck = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    try:
        for s in stuck:
            s.sendall(b"GET /master/state HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        status, _, body = fetch(cluster.http + "/master/state", timeout=5)
        assert status == 200 and json.loads(body)["id"]
    finally:
        for s in stuck:
            s.close()


def test_a_post_is_refused_and_cors_preflight_is_answered(cluster: HttpCluster) -> None:
    connection = socket.create_connection(("127.0.0.1", int(cluster.http.rpartition(":")[2])))
    connection.sendall(b"OPTIONS /master/state HTTP/1.1\r\nHost: x\r\nOrigin: http://ui\r\n"
                       b"Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n")
    reply = b""
    while chunk := connection.recv(4096):
        reply += chunk
    connection.close()
    assert reply.startswith(b"HTTP/1.1 204") and b"Access-Control-Allow-Origin: *" in reply
    request = urllib.request.Request(cluster.http + "/master/state", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
