"""mesopy-marathon against a real master and agents (OS processes, ZeroMQ, real tasks): apps
kept up, UNIQUE placement, scaling, the REST API through a real client (marathon-python),
kill -9 and restart of mesopy-marathon, an agent that goes away. One cluster for the module."""

from __future__ import annotations

import collections
import collections.abc
import json
import os
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import wait_until
from tests.integration.containment_support import pids_with_env
from tests.integration.marathon_support import MarathonCluster, kill_task_processes
from tests.integration.operators_support import run_script

pytestmark = pytest.mark.integration

SLEEPER = {"cmd": "sleep 1000", "cpus": 0.1, "mem": 16, "backoffSeconds": 0.2}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[MarathonCluster]:
    c = MarathonCluster(str(tmp_path_factory.mktemp("marathon")))
    try:
        yield c
    finally:
        c.close()


def _client(cluster: MarathonCluster) -> Any:
    # marathon-python 0.13.0 still names collections.Iterable (gone in Python 3.10) when it
    # encodes nested models; give it the alias it expects.
    if not hasattr(collections, "Iterable"):
        collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
    from marathon import MarathonClient

    return MarathonClient(cluster.url)


def test_bad_flag_is_one_line_and_exit_2() -> None:
    for argv, named in ((["--master=127.0.0.1:5050", "--colour=blue"], "--colour"),
                        (["--master=nowhere"], "--master"), (["--master=127.0.0.1:5050", "--zk=http://x"], "--zk")):
        result = run_script("mesopy-marathon", *argv)
        assert result.returncode == 2, result
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0], result.stderr


def test_unique_app_is_kept_up_and_scaled(cluster: MarathonCluster) -> None:
    status, body = cluster.call("POST", "/v2/apps", {"id": "/prod/uniq", "instances": 3, **SLEEPER,
                                                     "constraints": [["hostname", "UNIQUE"]]})
    assert status == 201, body
    app = cluster.wait_app("/prod/uniq", "3 running", tasksRunning=3)
    hosts = sorted(t["host"] for t in app["tasks"])
    assert hosts == ["host-0", "host-1", "host-2"]
    victim = app["tasks"][0]
    assert kill_task_processes(victim["id"]) >= 1
    def replaced() -> dict[str, Any] | None:
        a = cluster.app("/prod/uniq")
        return a if a["tasksRunning"] == 3 and victim["id"] not in [t["id"] for t in a["tasks"]] else None
    app = wait_until(replaced, "the killed task replaced")
    assert sorted(t["host"] for t in app["tasks"]) == hosts
    assert app["lastTaskFailure"]["taskId"] == victim["id"]
    # scale to 4: UNIQUE holds, so one waits in the queue
    status, body = cluster.call("PUT", "/v2/apps/prod/uniq", {"instances": 4})
    assert status == 200 and body["deploymentId"], body
    queued = wait_until(lambda: [q for q in cluster.call("GET", "/v2/queue")[1]["queue"]
                                 if q["app"]["id"] == "/prod/uniq"], "the 4th instance queued")
    assert queued[0]["count"] == 1
    assert cluster.app("/prod/uniq")["tasksRunning"] == 3
    status, body = cluster.call("PUT", "/v2/apps/prod/uniq", {"instances": 1})
    assert status == 409 and body["deployments"], body  # the scale to 4 is still in the way
    [waiting] = cluster.call("GET", "/v2/deployments")[1]
    assert waiting["affectedApps"] == ["/prod/uniq"] and waiting["currentActions"][0]["action"] == "ScaleApplication"
    status, body = cluster.call("PUT", "/v2/apps/prod/uniq?force=true", {"instances": 1})
    assert status == 200, body
    cluster.wait_app("/prod/uniq", "scaled to 1", tasksRunning=1, tasksStaged=0)
    status, body = cluster.call("DELETE", "/v2/apps/prod/uniq")
    assert status == 200 and body["deploymentId"]
    wait_until(lambda: cluster.call("GET", "/v2/apps/prod/uniq")[0] == 404, "the app removed")


def test_real_client_bad_definitions_and_duplicates(cluster: MarathonCluster) -> None:
    from marathon.exceptions import ConflictError, MarathonHttpError
    from marathon.models import MarathonApp

    client = _client(cluster)
    for bad, field in (({"cpus": -1}, "/cpus"), ({"constraints": [["hostname", "SOMETIMES"]]}, "/constraints(0)")):
        status, body = cluster.call("POST", "/v2/apps", {"id": "/bad", "cmd": "true", **bad})
        assert status == 422 and body["message"] == "Object is not valid", body
        assert body["details"][0]["path"] == field, body
    with pytest.raises(MarathonHttpError) as caught:
        client.create_app("/bad", MarathonApp(cmd="true", cpus=-1))
    assert caught.value.status_code == 422
    created = client.create_app("/client/app", MarathonApp(cmd="sleep 1000", cpus=0.1, mem=16, instances=2,
                                                            constraints=[["hostname", "GROUP_BY", "2"]]))
    assert created.id == "/client/app" and created.deployments
    with pytest.raises(ConflictError):
        client.create_app("/client/app", MarathonApp(cmd="true"))
    wait_until(lambda: client.get_app("/client/app").tasks_running == 2, "2 running")
    app = client.get_app("/client/app", embed_tasks=True)
    assert len({t.host for t in app.tasks}) == 2  # GROUP_BY spreads them
    assert {a.id for a in client.list_apps(embed_counts=True)} >= {"/client/app"}
    assert {t.app_id for t in client.list_tasks()} >= {"/client/app"}
    info = client.get_info()
    assert info.name == "marathon" and info.framework_id and info.marathon_config.checkpoint is True
    assert info.marathon_config.failover_timeout == 604800
    assert info.marathon_config.mesos_leader_ui_url == cluster.master_http + "/"  # for links to sandboxes
    assert client.get_leader()["leader"] == f"127.0.0.1:{cluster.http_port}"
    groups = client.list_groups()
    assert "/client" in [g.id for g in groups]
    client.list_deployments()
    client.list_queue()
    assert client.ping() in (b"pong", "pong")
    task = app.tasks[0]
    killed = client.kill_task("/client/app", task.id, scale=True)
    assert killed is not None
    wait_until(lambda: client.get_app("/client/app").instances == 1 and
               client.get_app("/client/app").tasks_running == 1, "scaled down by the kill")
    client.delete_app("/client/app", force=True)


def test_real_client_versions_many_groups_and_delay(cluster: MarathonCluster) -> None:
    from marathon.models import MarathonApp

    client = _client(cluster)
    result = client.update_apps([MarathonApp(id="/many/a", cmd="sleep 1000", cpus=0.1, mem=16, instances=1),
                                 MarathonApp(id="/many/b", cmd="exit 1", cpus=0.1, mem=16, instances=1,
                                             backoff_seconds=600)])
    assert result["deploymentId"] and result["version"]
    wait_until(lambda: client.get_app("/many/a").tasks_running == 1, "/many/a running")
    group = client.get_group("/many")
    assert group.id == "/many" and sorted(a.id for a in group.apps) == ["/many/a", "/many/b"]
    client.update_app("/many/a", MarathonApp(cmd="sleep 2000", cpus=0.1, mem=16, instances=1), force=True)
    versions = client.list_versions("/many/a")
    assert len(versions) == 2 and versions == sorted(versions, reverse=True)
    assert client.get_version("/many/a", versions[1]).cmd == "sleep 1000"
    assert client.get_version("/many/a", versions[0]).cmd == "sleep 2000"
    status, body = cluster.call("GET", "/v2/apps/many/a/versions/2001-01-01T00:00:00.000Z")
    assert status == 404 and "2001" in body["message"], body
    # /many/b fails at once and then waits out a 600 s delay; resetting it launches again now
    wait_until(lambda: client.get_app("/many/b").last_task_failure is not None, "/many/b failed once")
    queued = [q for q in cluster.call("GET", "/v2/queue")[1]["queue"] if q["app"]["id"] == "/many/b"]
    assert queued and queued[0]["delay"]["overdue"] is False, queued
    failed = client.get_app("/many/b").last_task_failure.task_id
    client.reset_delay("/many/b")
    wait_until(lambda: client.get_app("/many/b").last_task_failure.task_id != failed, "/many/b launched again")
    for app_id in ("/many/a", "/many/b"):
        client.delete_app(app_id, force=True)


def test_events_stream(cluster: MarathonCluster) -> None:
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def read() -> None:
        with urllib.request.urlopen(cluster.url + "/v2/events", timeout=30) as stream:
            for raw in stream:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if any(e["eventType"] == "deployment_success" and "/events/app" in json.dumps(e) for e in seen):
                        done.set()
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: json.loads(urllib.request.urlopen(cluster.url + "/metrics").read())["gauges"]
               ["service.mesosphere.marathon.event-stream.subscribers"]["value"] >= 1, "subscribed")
    status, _ = cluster.call("POST", "/v2/apps", {"id": "/events/app", **SLEEPER})
    assert status == 201
    assert done.wait(30), [e["eventType"] for e in seen]
    kinds = [e["eventType"] for e in seen]
    assert "api_post_event" in kinds and "deployment_info" in kinds
    assert any(e["eventType"] == "status_update_event" and e["taskStatus"] == "TASK_RUNNING" for e in seen)
    cluster.call("DELETE", "/v2/apps/events/app?force=true")


def test_kill_9_and_restart_loses_no_task(cluster: MarathonCluster) -> None:
    status, _ = cluster.call("POST", "/v2/apps", {"id": "/keep/running", "instances": 2, **SLEEPER})
    assert status == 201
    before = cluster.wait_app("/keep/running", "2 running", tasksRunning=2)
    status, _ = cluster.call("POST", "/v2/apps", {"id": "/keep/late", **SLEEPER})
    assert status == 201  # acknowledged: it is on disk
    framework_id = cluster.call("GET", "/v2/info")[1]["frameworkId"]
    assert cluster.marathon is not None and framework_id
    cluster.marathon.kill()  # kill -9
    cluster.start_marathon()
    after = cluster.wait_app("/keep/running", "still 2 running", tasksRunning=2)
    assert sorted(t["id"] for t in after["tasks"]) == sorted(t["id"] for t in before["tasks"])
    cluster.wait_app("/keep/late", "the late app runs", tasksRunning=1)
    status, info = cluster.call("GET", "/v2/info")
    assert status == 200 and info["frameworkId"] == framework_id  # the same framework, failed over
    for app_id in ("/keep/running", "/keep/late"):
        cluster.call("DELETE", f"/v2/apps{app_id}?force=true")


SERVER = {"cmd": "touch ok && exec python3 -m http.server $PORT0 --bind 127.0.0.1", "cpus": 0.1, "mem": 32,
          "backoffSeconds": 0.2,
          "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/ok", "portIndex": 0, "gracePeriodSeconds": 10,
                            "intervalSeconds": 1, "timeoutSeconds": 5, "maxConsecutiveFailures": 2,
                            "delaySeconds": 0}]}


def _sandbox(task_id: str) -> str:
    pids = list(pids_with_env(f"MESOS_TASK_ID={task_id}"))
    assert pids, f"no process of {task_id}"
    return os.readlink(f"/proc/{pids[0]}/cwd")


def test_http_health_check_unhealthy_task_is_replaced(cluster: MarathonCluster) -> None:
    status, body = cluster.call("POST", "/v2/apps", {"id": "/health/web", "instances": 1, **SERVER})
    assert status == 201, body
    app = cluster.wait_app("/health/web", "healthy", tasksRunning=1, tasksHealthy=1)
    [task] = app["tasks"]
    assert task["healthCheckResults"][0]["alive"] is True
    os.unlink(os.path.join(_sandbox(task["id"]), "ok"))  # /ok answers 404 from now on

    def replaced() -> dict[str, Any] | None:
        a = cluster.app("/health/web")
        fresh = [t for t in a["tasks"] if t["id"] != task["id"]]
        return a if fresh and a["tasksHealthy"] == 1 and len(a["tasks"]) == 1 else None
    after = wait_until(replaced, "the unhealthy task killed and replaced", 60)
    assert after["lastTaskFailure"]["taskId"] == task["id"]
    cluster.call("DELETE", "/v2/apps/health/web?force=true")


def test_rolling_upgrade_keeps_half_healthy(cluster: MarathonCluster) -> None:
    definition = {"id": "/health/roll", "instances": 4, **SERVER,
                  "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0}}
    status, body = cluster.call("POST", "/v2/apps", definition)
    assert status == 201, body
    before = cluster.wait_app("/health/roll", "4 healthy", 40, tasksRunning=4, tasksHealthy=4)
    status, body = cluster.call("PUT", "/v2/apps/health/roll", {**definition, "env": {"RELEASE": "2"}})
    assert status == 200, body
    healthy_seen: list[int] = []

    def upgraded() -> bool:
        a = cluster.app("/health/roll")
        healthy_seen.append(a["tasksHealthy"])
        return not a["deployments"] and a["tasksHealthy"] == 4
    wait_until(upgraded, "the rolling upgrade done", 60)
    assert min(healthy_seen) >= 2, healthy_seen
    after = cluster.app("/health/roll")
    assert not {t["id"] for t in after["tasks"]} & {t["id"] for t in before["tasks"]}
    assert {t["version"] for t in after["tasks"]} == {after["version"]}
    cluster.call("DELETE", "/v2/apps/health/roll?force=true")


def test_task_of_a_lost_agent_is_replaced_elsewhere(cluster: MarathonCluster) -> None:
    status, _ = cluster.call("POST", "/v2/apps", {"id": "/spread", "instances": 2, **SLEEPER})
    assert status == 201
    app = cluster.wait_app("/spread", "2 running", tasksRunning=2)
    host = app["tasks"][0]["host"]
    cluster.kill_agent(int(host.split("-")[1]))
    def moved_away() -> dict[str, Any] | None:
        a = cluster.app("/spread")
        return a if a["tasksRunning"] == 2 and all(t["host"] != host for t in a["tasks"]) else None
    moved = wait_until(moved_away, "the lost agent's task replaced", 30)
    assert len(moved["tasks"]) == 2
