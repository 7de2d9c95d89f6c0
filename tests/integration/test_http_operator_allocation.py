"""The v1 operator API's quota, reservation and drain calls on a real mesopy-master with a
real mesopy-agent: each call changes what ``/master/state`` shows, as the v0 endpoints do
(tests/integration/test_quota.py, test_reservations.py, test_drain.py), and a bad call is a
400 naming the field or the agent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import HttpCluster, get_json, wait_until
from tests.integration.v1_client import post

pytestmark = pytest.mark.integration

OPERATOR = "/api/v1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path_factory.mktemp("operator-allocation")))
    yield c
    c.close()


def call(cluster: HttpCluster, kind: str, body: Any = None) -> tuple[int, Any]:
    payload: dict[str, Any] = {"type": kind}
    if body is not None:
        payload[kind.lower()] = body
    status, _, data = post(cluster.http, payload, path=OPERATOR)
    try:
        return status, json.loads(data) if data else None
    except ValueError:
        return status, data.decode()


def agent(cluster: HttpCluster) -> dict[str, Any]:
    (slave,) = get_json(cluster.http + "/master/state")["slaves"]
    return dict(slave)


def test_quota_set_and_read_through_the_v1_calls(cluster: HttpCluster) -> None:
    status, _ = call(cluster, "UPDATE_QUOTA", {"quota_configs": [
        {"role": "dev", "guarantees": {"cpus": {"value": 1.0}}, "limits": {"cpus": {"value": 1.5}}}]})
    assert status == 200
    status, body = call(cluster, "GET_QUOTA")
    assert status == 200 and body["type"] == "GET_QUOTA"
    [config] = [c for c in body["get_quota"]["status"]["configs"] if c["role"] == "dev"]
    assert config["guarantees"]["cpus"]["value"] == 1.0 and config["limits"]["cpus"]["value"] == 1.5
    status, text = call(cluster, "UPDATE_QUOTA", {"quota_configs": [{"role": "dev", "guarantees": {"cpus": {"value": -1}}}]})
    assert status == 400 and "dev" in text, text


def test_reserve_and_unreserve_through_the_v1_calls(cluster: HttpCluster) -> None:
    aid = agent(cluster)["id"]
    cpus = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
             "reservations": [{"type": "DYNAMIC", "role": "ops", "principal": "operator"}]}]
    status, _ = call(cluster, "RESERVE_RESOURCES", {"agent_id": {"value": aid}, "resources": cpus})
    assert status == 202
    wait_until(lambda: agent(cluster)["unreserved_resources"]["cpus"] == 1.0 or None, "one cpu reserved")
    assert agent(cluster)["resources"]["cpus"] == 2.0  # reserved, not taken away
    status, _ = call(cluster, "UNRESERVE_RESOURCES", {"agent_id": {"value": aid}, "resources": cpus})
    assert status == 202
    wait_until(lambda: agent(cluster)["unreserved_resources"]["cpus"] == 2.0 or None, "the cpu unreserved")
    status, text = call(cluster, "RESERVE_RESOURCES", {"resources": cpus})
    assert status == 400 and "reserve_resources.agent_id" in text, text


def test_deactivate_drain_and_reactivate_through_the_v1_calls(cluster: HttpCluster) -> None:
    aid = agent(cluster)["id"]
    assert call(cluster, "DEACTIVATE_AGENT", {"agent_id": {"value": aid}})[0] == 200
    assert agent(cluster)["deactivated"] is True
    assert call(cluster, "REACTIVATE_AGENT", {"agent_id": {"value": aid}})[0] == 200
    assert agent(cluster)["deactivated"] is False
    assert call(cluster, "DRAIN_AGENT", {"agent_id": {"value": aid}, "max_grace_period": {"nanoseconds": 10**9}})[0] == 200
    wait_until(lambda: (agent(cluster).get("drain_info") or {}).get("state") == "DRAINED" or None, "drained")
    assert call(cluster, "REACTIVATE_AGENT", {"agent_id": {"value": aid}})[0] == 200
    assert agent(cluster)["deactivated"] is False
    status, text = call(cluster, "DRAIN_AGENT", {"agent_id": {"value": "no-such-agent"}})
    assert status == 400 and "no-such-agent" in text, text
    status, text = call(cluster, "DRAIN_AGENT")
    assert status == 400 and "'drain_agent'" in text, text
