"""Marathon app definitions, constraints, offer matching, backoff and the rolling rule (pure)."""

from __future__ import annotations

import pytest

from frameworks.marathon.appdef import APP_DEFAULTS, group_ids, normalize_id, parse_app
from frameworks.marathon.backoff import LaunchDelays
from frameworks.marathon.constraints import accepts
from frameworks.marathon.deployments import rolling_step
from frameworks.marathon.errors import ValidationError
from frameworks.marathon.offers import OfferSpace, health_check_info, task_info


def offer(host: str = "h1", cpus: float = 2.0, mem: float = 1024.0, ports: tuple[int, int] = (31000, 31009),
          **attrs: str) -> dict:
    return {"id": {"value": f"o-{host}"}, "agent_id": {"value": f"a-{host}"}, "hostname": host,
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*"},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}, "role": "*"},
                          {"name": "ports", "type": "RANGES", "role": "*",
                           "ranges": {"range": [{"begin": ports[0], "end": ports[1]}]}}],
            "attributes": [{"name": k, "type": "TEXT", "text": {"value": v}} for k, v in attrs.items()]}


def test_defaults_are_marathons() -> None:
    app = parse_app({"id": "prod/web", "cmd": "sleep 100"})
    assert app["id"] == "/prod/web"
    assert (app["cpus"], app["mem"], app["disk"], app["instances"]) == (1.0, 128.0, 0.0, 1)
    assert (app["backoffSeconds"], app["backoffFactor"], app["maxLaunchDelaySeconds"]) == (1, 1.15, 3600)
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
    assert app["portDefinitions"] == [{"port": 0, "protocol": "tcp", "labels": {}}]
    assert set(app) == {"id", *APP_DEFAULTS}


@pytest.mark.parametrize("body,path", [
    ({"id": "/a", "cmd": "x", "cpus": -1}, "/cpus"),
    ({"id": "/a", "cmd": "x", "mem": "lots"}, "/mem"),
    ({"id": "/a", "cmd": "x", "instances": -2}, "/instances"),
    ({"id": "/a", "cmd": "x", "constraints": [["hostname", "SOMETIMES"]]}, "/constraints(0)"),
    ({"id": "/a", "cmd": "x", "constraints": [["hostname", "LIKE"]]}, "/constraints(0)"),
    ({"id": "/a", "cmd": "x", "constraints": [["rack", "LIKE", "(("]]}, "/constraints(0)"),
    ({"id": "/Bad_Id", "cmd": "x"}, "/id"),
    ({"id": "/a"}, "/"),
    ({"id": "/a", "cmd": "x", "upgradeStrategy": {"minimumHealthCapacity": 1.5}},
     "/upgradeStrategy/minimumHealthCapacity"),
    ({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "HTTP", "portIndex": 3}]}, "/healthChecks(0)/portIndex"),
    ({"id": "/a", "cmd": "x", "healthChecks": [{"protocol": "GOPHER"}]}, "/healthChecks(0)/protocol"),
    ({"id": "/a", "cmd": "x", "colour": "blue"}, "/colour"),
])
def test_bad_definitions_name_the_field(body: dict, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_app(body)
    assert path in [d["path"] for d in caught.value.body()["details"]], caught.value.body()
    assert caught.value.status == 422 and caught.value.body()["message"] == "Object is not valid"


def test_unknown_operator_error_names_it() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_app({"id": "/a", "cmd": "x", "constraints": [["hostname", "SOMETIMES"]]})
    assert "SOMETIMES" in caught.value.body()["details"][0]["errors"][0]


def test_update_lays_the_body_over_the_app() -> None:
    app = parse_app({"id": "/a", "cmd": "x", "mem": 64, "ports": [0, 0]})
    assert len(app["portDefinitions"]) == 2
    scaled = parse_app({"instances": 5}, base=app, app_id="/a")
    assert (scaled["instances"], scaled["mem"], scaled["cmd"]) == (5, 64, "x")


def test_ids_and_groups() -> None:
    assert normalize_id("a/b/") == "/a/b"
    assert group_ids("/prod/web/api") == ["/", "/prod", "/prod/web"]


def test_constraint_operators() -> None:
    h = lambda name, **a: (name, a)  # noqa: E731
    assert accepts([["hostname", "UNIQUE"]], h("x"), [h("y")])
    assert not accepts([["hostname", "UNIQUE"]], h("x"), [h("x")])
    assert accepts([["rack", "CLUSTER", "r1"]], h("x", rack="r1"), [])
    assert not accepts([["rack", "CLUSTER", "r1"]], h("x", rack="r2"), [])
    assert not accepts([["rack", "CLUSTER"]], h("x", rack="r2"), [h("y", rack="r1")])
    assert accepts([["hostname", "LIKE", "web-[0-9]+"]], h("web-12"), [])
    assert not accepts([["hostname", "LIKE", "web-[0-9]+"]], h("web-12x"), [])
    assert not accepts([["hostname", "UNLIKE", "web-.*"]], h("web-1"), [])
    assert accepts([["rack", "UNLIKE", "r1"]], h("x"), [])  # no such attribute: not like it
    assert not accepts([["rack", "UNIQUE"]], h("x"), [])  # no such attribute: no placement
    two_on_r1 = [h("a", rack="r1"), h("b", rack="r1")]
    assert not accepts([["rack", "MAX_PER", "2"]], h("c", rack="r1"), two_on_r1)
    assert accepts([["rack", "MAX_PER", "2"]], h("c", rack="r2"), two_on_r1)
    # GROUP_BY with 3 groups: until 3 values are used, only a new value is taken
    assert not accepts([["rack", "GROUP_BY", "3"]], h("c", rack="r1"), [h("a", rack="r1"), h("b", rack="r2")])
    assert accepts([["rack", "GROUP_BY", "3"]], h("c", rack="r3"), [h("a", rack="r1"), h("b", rack="r2")])
    assert accepts([["rack", "GROUP_BY"]], h("c", rack="r2"), [h("a", rack="r1")])
    uneven = [h("a", rack="r1"), h("b", rack="r1"), h("d", rack="r2")]
    assert not accepts([["rack", "GROUP_BY"]], h("c", rack="r1"), uneven)


def test_offer_space_assigns_host_ports_and_env() -> None:
    app = parse_app({"id": "/web", "cmd": "serve", "cpus": 0.5, "mem": 100,
                     "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0}],
                     "healthChecks": [{"protocol": "MESOS_HTTP", "portIndex": 1, "path": "/ok"}]})
    space = OfferSpace(offer(cpus=1.0, ports=(31000, 31003)))
    first, second = space.take(app, []), space.take(app, [])
    assert not isinstance(first, str) and not isinstance(second, str)
    assert first.host_ports == [31000, 31001] and second.host_ports == [31002, 31003]
    assert isinstance(space.take(app, []), str)  # cpus used up (and ports)
    info = task_info({**app, "version": "v1"}, "web.1", offer(), first, [10000, 10001])
    env = {v["name"]: v["value"] for v in info["command"]["environment"]["variables"]}
    assert (env["PORT0"], env["PORT1"], env["PORTS"], env["PORT_HTTP"]) == ("31000", "31001", "31000,31001", "31000")
    assert env["PORT_10000"] == "31000" and env["MARATHON_APP_ID"] == "/web"
    assert info["health_check"]["type"] == "HTTP"
    assert info["health_check"]["http"] == {"port": 31001, "path": "/ok", "scheme": "http"}
    ports = [r for r in info["resources"] if r["name"] == "ports"][0]
    assert ports["ranges"]["range"] == [{"begin": 31000, "end": 31000}, {"begin": 31001, "end": 31001}]


def test_required_ports_and_constraints_refuse() -> None:
    app = parse_app({"id": "/a", "cmd": "x", "cpus": 0.1, "requirePorts": True, "ports": [32000]})
    assert "port 32000" in str(OfferSpace(offer()).take(app, []))
    unique = parse_app({"id": "/a", "cmd": "x", "cpus": 0.1, "constraints": [["hostname", "UNIQUE"]]})
    assert "constraints" in str(OfferSpace(offer("h1")).take(unique, [("h1", {})]))


def test_health_check_translation() -> None:
    tcp = health_check_info({"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 3, "intervalSeconds": 1,
                             "timeoutSeconds": 2, "maxConsecutiveFailures": 2, "delaySeconds": 0}, [31005])
    assert tcp["type"] == "TCP" and tcp["tcp"] == {"port": 31005} and tcp["consecutive_failures"] == 2
    command = health_check_info({"protocol": "COMMAND", "command": {"value": "true"}, "gracePeriodSeconds": 3,
                                 "intervalSeconds": 1, "timeoutSeconds": 2, "maxConsecutiveFailures": 2}, [])
    assert command["type"] == "COMMAND" and command["command"]["value"] == "true"


def test_backoff_grows_and_caps() -> None:
    app = {"id": "/a", "version": "v1", "backoffSeconds": 2, "backoffFactor": 2.0, "maxLaunchDelaySeconds": 5}
    delays = LaunchDelays()
    assert delays.failed(app, 100.0).until == 102.0
    assert delays.failed(app, 102.0).seconds == 4.0
    assert delays.failed(app, 106.0).seconds == 5.0  # capped
    assert delays.ready_at({**app, "version": "v2"}) == 0.0  # a new version is not held back
    delays.reset("/a")
    assert delays.ready_at(app) == 0.0


def test_rolling_step_keeps_minimum_health_capacity() -> None:
    half = {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.0}
    step = rolling_step(4, half, old_alive=4, old_healthy=4, new_alive=0, new_healthy=0)
    assert (step.kill_old, step.start_new) == (2, 2)
    step = rolling_step(4, half, old_alive=2, old_healthy=2, new_alive=2, new_healthy=0)
    assert (step.kill_old, step.start_new) == (0, 0)  # new ones not healthy yet: the 2 old stay
    step = rolling_step(4, half, old_alive=2, old_healthy=2, new_alive=2, new_healthy=2)
    assert (step.kill_old, step.start_new) == (2, 2)
    full = {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
    step = rolling_step(2, full, old_alive=2, old_healthy=2, new_alive=0, new_healthy=0)
    assert (step.kill_old, step.start_new) == (0, 2)
    stuck = {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 0.0}
    step = rolling_step(1, stuck, old_alive=1, old_healthy=1, new_alive=0, new_healthy=0)
    assert (step.kill_old, step.start_new) == (0, 1)  # one over, or it could never move
