"""frameworks.testing on a manual clock: hours of cluster time without waiting for them,
dropped messages, partitions, emulated tasks through the real agent and master."""

from __future__ import annotations

import time
from typing import Any

import pytest

from frameworks import Scheduler
from frameworks.testing import LocalCluster, TaskRule
from transport.messages import ResourceOffers

Dict = dict[str, Any]


def res(cpus: float, mem: float) -> list[Dict]:
    return [{"name": "cpus", "type": "SCALAR", "scalar": {"value": float(cpus)}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": float(mem)}}]


def task(task_id: str, offer: Dict, cpus: float = 0.1, mem: float = 32) -> Dict:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": res(cpus, mem), "command": {"value": "sleep 60", "shell": True}}


class Log(Scheduler):
    """Records callbacks with the cluster time; ``policy(driver, offer)`` answers each offer."""

    def __init__(self, cluster: LocalCluster, policy: Any = None) -> None:
        self.cluster = cluster
        self.policy = policy
        self.events: list[tuple[Any, ...]] = []

    def registered(self, driver: Any, framework_id: Dict, master_info: Dict) -> None:
        self.events.append(("registered", self.cluster.now()))

    def resourceOffers(self, driver: Any, offers: list[Dict]) -> None:
        for offer in offers:
            self.events.append(("offer", self.cluster.now(), offer["hostname"]))
            if self.policy is not None:
                self.policy(driver, offer)

    def statusUpdate(self, driver: Any, status: Dict) -> None:
        self.events.append(("status", self.cluster.now(), status["task_id"]["value"], status["state"]))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == kind]


def test_a_one_hour_decline_filter_expires_on_advance_without_waiting_for_the_hour() -> None:
    start = time.monotonic()
    with LocalCluster(agents=1, resources="cpus:1;mem:256", clock="manual") as cluster:
        sched = Log(cluster, lambda d, o: d.declineOffer(o["id"], {"refuse_seconds": 3600}))
        driver = cluster.driver(sched, {"user": "", "name": "decliner"})
        driver.start()
        cluster.settle()
        assert [e[0] for e in sched.events] == ["registered", "offer"]
        cluster.advance(3599)
        assert len(sched.of("offer")) == 1
        assert cluster.now() == 3599
        cluster.advance(1)
        assert [e[1] for e in sched.of("offer")] == [0.0, 3600.0]
        driver.stop()
    assert time.monotonic() - start < 3600 / 2  # cluster time, not waited for (no speed is judged)


def test_without_a_manual_clock_advance_and_settle_say_what_they_need() -> None:
    with LocalCluster(agents=0) as cluster:
        with pytest.raises(RuntimeError, match="clock='manual'"):
            cluster.advance(1)
        with pytest.raises(RuntimeError, match="clock='manual'"):
            cluster.settle()


def test_bad_clock_executor_and_message_names_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'sundial'"):
        LocalCluster(clock="sundial")
    with pytest.raises(ValueError, match="'docker'"):
        LocalCluster(executor="docker")
    with LocalCluster(agents=1, clock="manual") as cluster:
        with pytest.raises(ValueError, match="'StatusUpdat'"):
            cluster.drop("StatusUpdat")
        with pytest.raises(ValueError, match="agent index must be 0..0, got 3"):
            cluster.partition(3)


def test_failover_timeout_of_a_week_tears_the_framework_down_and_kills_its_tasks() -> None:
    week = 604800.0
    # A week of 1-s allocation cycles would be 604,800 timer firings (~30 s of wall time): a coarser
    # cycle and ping keep the test quick without changing what it checks.
    with LocalCluster(agents=1, resources="cpus:2;mem:512", clock="manual", executor="emulated",
                      task_rule=None, allocation_interval=60, agent_ping_timeout=60) as cluster:
        launched: list[str] = []

        def launch(driver: Any, offer: Dict) -> None:
            if not launched:
                launched.append("t1")
                driver.launchTasks(offer["id"], [task("t1", offer)])

        driver = cluster.driver(Log(cluster, launch), {"user": "", "name": "failover", "failover_timeout": week})
        driver.start()
        cluster.settle()
        state = cluster.state()
        (fw,) = state["frameworks"]
        assert [t["state"] for t in fw["tasks"]] == ["TASK_RUNNING"]
        driver.stop(failover=True)  # the scheduler goes away; the master keeps its tasks for a week
        cluster.settle()
        cluster.advance(week - 1)  # ~10,000 allocation cycles and as many pings: about a second
        (fw,) = cluster.state()["frameworks"]
        assert fw["connected"] is False and [t["state"] for t in fw["tasks"]] == ["TASK_RUNNING"]
        cluster.advance(1)
        state = cluster.state()
        assert state["frameworks"] == []
        (done,) = state["completed_frameworks"]
        assert [t["state"] for t in done["completed_tasks"]] == ["TASK_KILLED"]
        (agent,) = state["slaves"]
        assert agent["used_resources"].get("cpus", 0.0) == 0.0


def test_a_dropped_acknowledgement_is_retried_by_the_agent_at_10_then_20_then_40_seconds() -> None:
    with LocalCluster(agents=1, resources="cpus:1;mem:256", clock="manual", executor="emulated",
                      task_rule=None) as cluster:
        acks = cluster.drop("StatusUpdateAcknowledgement", to="agent")  # any agent
        sent: list[str] = []

        def launch(driver: Any, offer: Dict) -> None:
            if not sent:
                sent.append("t1")
                driver.launchTasks(offer["id"], [task("t1", offer)])

        sched = Log(cluster, launch)
        driver = cluster.driver(sched, {"user": "", "name": "acks"})
        driver.start()
        cluster.settle()
        t0 = sched.of("status")[0][1]
        assert [e[3] for e in sched.of("status")] == ["TASK_STARTING"]  # RUNNING waits behind it
        for wait in (10, 20, 40):
            cluster.advance(wait - 0.5)
            assert len(sched.of("status")) == 1 + [10, 20, 40].index(wait)
            cluster.advance(0.5)
            assert len(sched.of("status")) == 2 + [10, 20, 40].index(wait)
        assert [e[1] - t0 for e in sched.of("status")] == [0, 10, 30, 70]
        assert {e[3] for e in sched.of("status")} == {"TASK_STARTING"}
        assert acks.matched == 4  # every copy was acknowledged, and every acknowledgement dropped
        acks.remove()
        cluster.advance(80)  # the next retry is acknowledged: the stream moves on to TASK_RUNNING
        assert [e[3] for e in sched.of("status")][-1] == "TASK_RUNNING"
        driver.stop()


def test_expect_resolves_with_the_message_and_partition_cuts_master_and_agent() -> None:
    with LocalCluster(agents=2, resources="cpus:1;mem:256", clock="manual",
                      agent_ping_timeout=15, max_agent_ping_timeouts=5) as cluster:
        offers = cluster.expect(ResourceOffers, from_="master")
        driver = cluster.driver(Log(cluster), {"user": "", "name": "watch"})
        driver.start()
        cluster.settle()
        env = offers.result(timeout=0)
        assert isinstance(env.message, ResourceOffers)
        assert env.receiver == driver.pid and len(env.message.offers) == 2
        cluster.partition(1)
        cluster.advance(74)
        assert cluster.registered_agents() == 2
        cluster.advance(16)  # five missed pings of 15 s
        assert cluster.registered_agents() == 1
        cluster.heal(1)
        driver.stop()


def test_a_thousand_emulated_tasks_of_a_minute_run_on_ten_agents_with_exact_accounting() -> None:
    start = time.monotonic()
    total = 1000
    with LocalCluster(agents=10, resources="cpus:4;mem:4096", clock="manual", executor="emulated",
                      task_rule=TaskRule(duration=60)) as cluster:
        launched: list[str] = []

        def launch(driver: Any, offer: Dict) -> None:
            cpus = sum(r["scalar"]["value"] for r in offer["resources"] if r["name"] == "cpus")
            tasks = []
            while cpus >= 0.1 - 1e-9 and len(launched) < total:
                launched.append(f"t{len(launched)}")
                tasks.append(task(launched[-1], offer))
                cpus -= 0.1
            driver.launchTasks(offer["id"], tasks)

        sched = Log(cluster, launch)
        driver = cluster.driver(sched, {"user": "", "name": "bulk"})
        driver.start()
        cluster.settle()
        state = cluster.state()
        assert sum(len(f["tasks"]) for f in state["frameworks"]) == 400  # 40 at a time on each agent
        for agent in state["slaves"]:  # the master counts the tasks' resources
            assert agent["used_resources"]["cpus"] == pytest.approx(4.0)
            assert agent["used_resources"]["mem"] == pytest.approx(40 * 32)
        cluster.advance(60)
        assert len([e for e in sched.of("status") if e[3] == "TASK_FINISHED"]) == 400
        while len([e for e in sched.of("status") if e[3] == "TASK_FINISHED"]) < total and cluster.now() < 1000:
            cluster.advance(1)
        finished = [e for e in sched.of("status") if e[3] == "TASK_FINISHED"]
        assert sorted(e[2] for e in finished) == sorted(launched) and len(launched) == total
        assert 180 <= cluster.now() <= 190  # three waves of a minute, each started by the next offers
        state = cluster.state()
        for agent in state["slaves"]:
            assert agent["used_resources"].get("cpus", 0.0) == pytest.approx(0.0)
            assert agent["used_resources"].get("mem", 0.0) == pytest.approx(0.0)
        (fw,) = state["frameworks"]
        assert fw["tasks"] == [] and len(fw["completed_tasks"]) == total
        driver.stop()
    assert time.monotonic() - start < 180 / 2  # cluster time, not waited for (about 2 s on an idle machine)


def test_emulated_kills_custom_executors_and_per_task_rules_go_through_the_agent() -> None:
    def rule(t: Dict) -> Any:
        return {"fail": TaskRule(duration=5, exit_status=3), "forever": None,
                "steps": [(1, "TASK_KILLING"), (2, "TASK_KILLED")]}.get(t["name"], 2.0)

    with LocalCluster(agents=1, resources="cpus:2;mem:1024", clock="manual", executor="emulated",
                      task_rule=rule) as cluster:
        sent: list[str] = []

        def launch(driver: Any, offer: Dict) -> None:
            if sent:
                return
            sent.append("all")
            custom = dict(task("c1", offer), executor={
                "executor_id": {"value": "mine"}, "command": {"value": "./my-executor", "shell": True},
                "resources": res(0.1, 32)})
            custom.pop("command")
            driver.launchTasks(offer["id"], [task("fail", offer), task("forever", offer), task("steps", offer),
                                             custom])

        sched = Log(cluster, launch)
        driver = cluster.driver(sched, {"user": "", "name": "mixed"})
        driver.start()
        cluster.settle()
        cluster.advance(6)
        driver.killTask({"value": "forever"})
        cluster.settle()
        ends = {e[2]: (e[3], e[1]) for e in sched.of("status")}
        assert ends["fail"] == ("TASK_FAILED", 5.0)
        assert ends["steps"] == ("TASK_KILLED", 3.0)
        assert ends["c1"] == ("TASK_FINISHED", 2.0)  # a custom executor runs its tasks by the rule too
        assert ends["forever"] == ("TASK_KILLED", 6.0)
        failed = [e for e in sched.of("status") if e[2] == "fail"]
        assert [e[3] for e in failed] == ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]
        assert [e[3] for e in sched.of("status") if e[2] == "c1"] == ["TASK_RUNNING", "TASK_FINISHED"]
        (agent,) = cluster.state()["slaves"]  # the custom executor lives on with its own resources
        assert agent["used_resources"]["cpus"] == pytest.approx(0.1)
        assert agent["used_resources"]["mem"] == pytest.approx(32)
        driver.stop()
        cluster.settle()
        (agent,) = cluster.state()["slaves"]  # the framework's teardown shut it down
        assert agent["used_resources"].get("cpus", 0.0) == pytest.approx(0.0)
