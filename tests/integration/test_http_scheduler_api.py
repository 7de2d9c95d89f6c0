"""Mesos' v1 scheduler HTTP API of a real mesopy-master (with a real mesopy-agent), driven by a raw
HTTP client: the error rules status by status, a task's life on the event stream, heartbeats,
a dropped stream and its re-subscription (the unacknowledged update is sent again)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import HttpCluster, fetch, get_json, wait_until
from tests.integration.v1_client import JSON_HEADERS, Subscription, post, task_info

pytestmark = pytest.mark.integration

FRAMEWORK = {"user": "root", "name": "raw-v1"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path_factory.mktemp("v1")), "--http_heartbeat_interval=0.5")
    yield c
    c.close()


def subscribe(cluster: HttpCluster, **info: Any) -> Subscription:
    sub = Subscription(cluster.http, {"type": "SUBSCRIBE", "subscribe": {"framework_info": {**FRAMEWORK, **info}}})
    assert sub.status == 200
    sub.next("SUBSCRIBED")
    return sub


def teardown(sub: Subscription) -> None:
    assert sub.call({"type": "TEARDOWN"})[0] == 202
    sub.wait_closed()  # the master ends the stream of a framework torn down
    sub.close()


def test_error_rules_of_the_http_api(cluster: HttpCluster) -> None:
    url = cluster.http + "/api/v1/scheduler"
    status, headers, _ = fetch(url)
    assert status == 405 and "POST" in headers["Allow"]
    decline = {"type": "DECLINE", "framework_id": {"value": "nobody-0000"}, "decline": {"offer_ids": []}}

    def status_of(body: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
        code, _, text = post(cluster.http, body, headers)
        return code, text.decode()

    assert status_of(decline, {"Content-Type": "text/plain"})[0] == 415
    code, text = status_of(decline, {"Content-Type": "application/x-protobuf"})
    assert code == 415 and "application/json" in text
    code, text = status_of(decline, {})
    assert code == 400 and "Content-Type" in text
    code, text = status_of(decline, {"Content-Type": "application/json", "Accept": "application/x-protobuf"})
    assert code == 406 and "Accept" in text
    assert status_of(b"{not json")[0] == 400
    code, text = status_of({"framework_id": {"value": "x"}})
    assert code == 400 and "'type'" in text
    code, text = status_of({"type": "NO_SUCH_CALL"})
    assert code == 400 and "NO_SUCH_CALL" in text
    code, text = status_of({"type": "SUBSCRIBE"})
    assert code == 400 and "'subscribe'" in text
    code, text = status_of({"type": "SUBSCRIBE", "framework_id": {"value": "a"},
                            "subscribe": {"framework_info": {**FRAMEWORK, "id": {"value": "b"}}}})
    assert code == 400 and "differs" in text
    code, text = status_of({"type": "DECLINE", "decline": {"offer_ids": []}})
    assert code == 400 and "framework_id" in text
    code, text = status_of(decline)
    assert code == 403 and "nobody-0000" in text

    sub = subscribe(cluster)
    try:
        fid = sub.framework_id
        code, text = status_of({"type": "REVIVE", "framework_id": fid})  # no Mesos-Stream-Id
        assert code == 400 and "Mesos-Stream-Id" in text
        code, text = status_of({"type": "REVIVE", "framework_id": fid}, {**JSON_HEADERS, "Mesos-Stream-Id": "stale"})
        assert code == 400 and "stale" in text
        code, body = sub.call({"type": "ACCEPT"})
        assert code == 400 and b"'accept'" in body
        code, body = sub.call({"type": "ACKNOWLEDGE", "acknowledge": {"agent_id": {"value": "a"},
                                                                        "task_id": {"value": "t"}, "uuid": "!!"}})
        assert code == 400 and b"acknowledge.uuid" in body
        # Semantic errors are 202, answered on the stream: a stale offer, an unknown task.
        offer = sub.next("OFFERS")["offers"]["offers"][0]
        agent_id = offer["agent_id"]
        code, _ = sub.call({"type": "ACCEPT", "accept": {"offer_ids": [{"value": "no-such-offer"}], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [task_info("stale", agent_id, "true")]}}]}})
        assert code == 202
        update = sub.next("UPDATE")["update"]["status"]
        assert (update["task_id"]["value"], update["state"], update["reason"]) == \
            ("stale", "TASK_LOST", "REASON_INVALID_OFFERS")
        assert sub.call({"type": "KILL", "kill": {"task_id": {"value": "ghost"}}})[0] == 202
        assert sub.next("UPDATE")["update"]["status"]["task_id"]["value"] == "ghost"
    finally:
        teardown(sub)
    # Torn down: its calls are now refused as those of an unknown framework.
    assert status_of({"type": "REVIVE", "framework_id": fid}, {**JSON_HEADERS, "Mesos-Stream-Id": sub.stream_id})[0] \
        == 403


def test_a_task_on_the_stream_with_acknowledgements_and_heartbeats(cluster: HttpCluster) -> None:
    sub = subscribe(cluster)
    try:
        subscribed = sub.events[0]["subscribed"]
        assert subscribed["heartbeat_interval_seconds"] == 0.5
        assert subscribed["master_info"]["version"] == get_json(cluster.http + "/version")["version"]
        offer = sub.next("OFFERS")["offers"]["offers"][0]
        code, _ = sub.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [task_info("hello", offer["agent_id"], "echo hi")]}}]}})
        assert code == 202
        states: list[str] = []
        while not states or states[-1] != "TASK_FINISHED":
            status = sub.next("UPDATE")["update"]["status"]
            states.append(status["state"])
            assert status["agent_id"] == offer["agent_id"]
            assert len(base64.b64decode(status["uuid"])) == 16
            code, _ = sub.call({"type": "ACKNOWLEDGE", "acknowledge": {
                "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}})
            assert code == 202
        assert states == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
        sub.next("HEARTBEAT", timeout=5)
        assert sub.call({"type": "RECONCILE", "reconcile": {"tasks": []}})[0] == 202  # nothing left unacknowledged
        assert sub.call({"type": "SUPPRESS"})[0] == 202
        assert sub.call({"type": "REVIVE", "revive": {"roles": ["*"]}})[0] == 202
        assert sub.call({"type": "REQUEST", "request": {"requests": []}})[0] == 202
    finally:
        teardown(sub)


def test_a_dropped_stream_resubscribes_and_gets_the_unacknowledged_update_again(cluster: HttpCluster) -> None:
    go = cluster.work_dir + "/go-resubscribe"
    sub = subscribe(cluster, failover_timeout=60.0)
    fid = sub.framework_id
    assert fid is not None
    offer = sub.next("OFFERS")["offers"]["offers"][0]
    command = f"while [ ! -e {go} ]; do sleep 0.05; done"
    sub.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
        {"type": "LAUNCH", "launch": {"task_infos": [task_info("resub", offer["agent_id"], command)]}}]}})
    first = sub.next("UPDATE")["update"]["status"]
    assert first["state"] == "TASK_STARTING"
    old_stream = sub.stream_id
    sub.close()  # the connection drops with TASK_STARTING unacknowledged

    def disconnected() -> bool:
        frameworks = get_json(cluster.http + "/master/frameworks")["frameworks"]
        return any(f["id"] == fid["value"] and not f["connected"] for f in frameworks)
    wait_until(disconnected, "the framework to be disconnected")

    again = Subscription(cluster.http, {"type": "SUBSCRIBE", "framework_id": fid, "subscribe": {
        "framework_info": {**FRAMEWORK, "failover_timeout": 60.0, "id": fid}}})
    try:
        assert again.status == 200 and again.stream_id != old_stream
        assert again.next("SUBSCRIBED")["subscribed"]["framework_id"] == fid
        resent = again.next("UPDATE")["update"]["status"]
        assert (resent["state"], resent["uuid"]) == ("TASK_STARTING", first["uuid"])
        code, _, _ = post(cluster.http, {"type": "REVIVE", "framework_id": fid},
                          {**JSON_HEADERS, "Mesos-Stream-Id": old_stream})
        assert code == 400  # the old stream's id is stale
        again.call({"type": "ACKNOWLEDGE", "acknowledge": {"agent_id": resent["agent_id"],
                                                           "task_id": resent["task_id"], "uuid": resent["uuid"]}})
        assert again.next("UPDATE")["update"]["status"]["state"] == "TASK_RUNNING"
    finally:
        open(go, "w").close()
        teardown(again)


def test_shutdown_ends_an_executor_and_update_framework_changes_the_framework(cluster: HttpCluster) -> None:
    # A command task's executor: its shutdown kills the task (TASK_KILLED); as in Mesos, the exit of
    # a command executor is no FAILURE event (the agent reports it as the task's end).
    sub = subscribe(cluster)
    fid = sub.framework_id
    assert fid is not None
    try:
        offer = sub.next("OFFERS")["offers"]["offers"][0]
        sub.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [task_info("sleeper", offer["agent_id"], "sleep 300")]}}]}})
        status: dict[str, Any] = {}
        while status.get("state") != "TASK_RUNNING":
            status = sub.next("UPDATE")["update"]["status"]
            sub.call({"type": "ACKNOWLEDGE", "acknowledge": {k: status[k] for k in ("agent_id", "task_id", "uuid")}})
        code, _ = sub.call({"type": "SHUTDOWN", "shutdown": {"executor_id": status["executor_id"],
                                                             "agent_id": status["agent_id"]}})
        assert code == 202
        ended = sub.next("UPDATE")["update"]["status"]
        assert (ended["task_id"]["value"], ended["state"]) == ("sleeper", "TASK_KILLED"), ended
        sub.call({"type": "ACKNOWLEDGE", "acknowledge": {k: ended[k] for k in ("agent_id", "task_id", "uuid")}})

        info = {**FRAMEWORK, "id": fid, "name": "renamed"}
        code, body = sub.call({"type": "UPDATE_FRAMEWORK", "update_framework": {"framework_info": info}})
        assert code == 200, body
        frameworks = get_json(cluster.http + "/master/frameworks")["frameworks"]
        assert next(f for f in frameworks if f["id"] == fid["value"])["name"] == "renamed"
        code, body = sub.call({"type": "UPDATE_FRAMEWORK", "update_framework": {
            "framework_info": {**info, "roles": ["-bad"]}}})
        assert code == 400 and b"-bad" in body
        sub.next("HEARTBEAT", timeout=5)  # the stream lives on, with no second SUBSCRIBED
        assert [e["type"] for e in sub.events].count("SUBSCRIBED") == 1
    finally:
        teardown(sub)


def test_the_agents_executor_api_error_rules(cluster: HttpCluster) -> None:
    url = cluster.agent_http + "/api/v1/executor"
    assert fetch(url)[0] == 405
    status: dict[str, Any] = {"task_id": {"value": "t"}, "state": "TASK_RUNNING", "uuid": "AAEC"}
    update = {"type": "UPDATE", "framework_id": {"value": "f"}, "executor_id": {"value": "e"},
              "update": {"status": status}}
    assert post(cluster.agent_http, update, {"Content-Type": "text/plain"}, path="/api/v1/executor")[0] == 415
    code, _, body = post(cluster.agent_http, update, path="/api/v1/executor")
    assert code == 403 and b"not subscribed" in body
    del status["uuid"]
    code, _, body = post(cluster.agent_http, update, path="/api/v1/executor")
    assert code == 400 and b"uuid" in body
