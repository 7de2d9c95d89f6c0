"""End to end: who is offered what (the Mesos and DRF papers' examples, weights, strict priority).

Each test runs a LocalCluster in this process: the real master and allocator,
a real agent running ``sleep`` commands through the command executor (posix
isolation), and frameworks.MesosSchedulerDriver.

The command executor's overhead (0.1 cpu + 32 MB) is added to the container's
limits on the agent only; as in Mesos (slave.cpp: "This does lead to a small
overcommit of resources") the master neither offers nor accounts it, so the
papers' numbers hold exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from frameworks.testing import LocalCluster
from tests.scenario.cluster_support import (
    OneTaskPerOffer,
    Recorder,
    command_task,
    framework,
    running,
    scalar,
    used,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FAST: dict[str, Any] = {"allocation_interval": 0.05}


def test_mesos_paper_example_remainder_goes_to_framework_2() -> None:
    """Agent <4 cpus, 4 GB>; framework 1 runs <2 cpus, 1 GB> and <1 cpu, 2 GB>; framework 2 is offered <1 cpu, 1 GB>."""
    def launch_two(rec: Recorder, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if len(rec.offers) > 1:  # only the first offer is used
                driver.declineOffer(offer["id"], {"refuse_seconds": 60})
                continue
            # The remainder is refused for longer than the test runs: the default 5 s
            # could pass before the tasks run on a loaded machine.
            driver.launchTasks(offer["id"], [command_task("t1", offer, 2, 1024), command_task("t2", offer, 1, 2048)],
                               {"refuse_seconds": 60})

    with LocalCluster(agents=1, resources="cpus:4;mem:4096", **FAST) as cluster:
        fw1 = Recorder(launch_two)
        with running(cluster, fw1, framework("framework-1")) as driver1:
            first = fw1.next_offer(0)
            assert first is not None and (scalar(first[1], "cpus"), scalar(first[1], "mem")) == (4.0, 4096.0)
            fw1.status("t1", "TASK_RUNNING")
            fw1.status("t2", "TASK_RUNNING")
            state = cluster.state()
            assert (used(state, "cpus"), used(state, "mem")) == (3.0, 3072.0)

            fw2 = Recorder()
            with running(cluster, fw2, framework("framework-2")):
                got = fw2.next_offer(0)
                assert got is not None
                assert (scalar(got[1], "cpus"), scalar(got[1], "mem")) == (1.0, 1024.0)
                assert len(fw1.offers) == 1  # the remainder is filtered for framework 1
            for tid in ("t1", "t2"):
                driver1.killTask({"value": tid})
            fw1.status("t1", "TASK_KILLED")
            fw1.status("t2", "TASK_KILLED")


def test_drf_paper_example_settles_at_three_and_two_tasks() -> None:
    """9 cpus, 18 GB; A runs <1 cpu, 4 GB> tasks, B <3 cpus, 1 GB>: A = 3, B = 2, both dominant shares 2/3.

    Each framework launches one task per offer and declines the rest with
    refuse_seconds 0. A framework offered too little records "starved" and
    then suppresses (with refuse_seconds 0 alone, ties in share would hand
    the unusable remainder back to the same framework in a tight loop and
    the other one would never see it); the counts are read once both starved.
    """
    with LocalCluster(agents=1, resources="cpus:9;mem:18432", **FAST) as cluster:
        a_policy, b_policy = OneTaskPerOffer("a", 1, 4096), OneTaskPerOffer("b", 3, 1024)
        a, b = Recorder(a_policy, paused=True), Recorder(b_policy)
        with running(cluster, a, framework("drf-a")), running(cluster, b, framework("drf-b")):
            a.resume()  # both registered before anything is taken
            assert a.wait(lambda: a_policy.starved, 20) and b.wait(lambda: b_policy.starved, 20), (
                a_policy.launched, b_policy.launched)
            assert (len(a_policy.launched), len(b_policy.launched)) == (3, 2)
            for tid in a_policy.launched:
                a.status(tid, "TASK_RUNNING")
            for tid in b_policy.launched:
                b.status(tid, "TASK_RUNNING")
            state = cluster.state()
            assert a.framework_id is not None and b.framework_id is not None
            a_share = used(state, "mem", framework_id=a.framework_id) / 18432
            b_share = used(state, "cpus", framework_id=b.framework_id) / 9
            assert a_share == pytest.approx(2 / 3) and b_share == pytest.approx(2 / 3)
            assert (used(state, "cpus"), used(state, "mem")) == (9.0, 14336.0)


def test_weights_two_to_one_give_dominant_shares_two_to_one() -> None:
    with LocalCluster(agents=1, resources="cpus:6;mem:3072", weights="a=2,b=1", **FAST) as cluster:
        a_policy, b_policy = OneTaskPerOffer("a", 1, 512), OneTaskPerOffer("b", 1, 512)
        a, b = Recorder(a_policy, paused=True), Recorder(b_policy)
        with running(cluster, a, framework("weighted-a", "a")), running(cluster, b, framework("weighted-b", "b")):
            a.resume()
            assert a.wait(lambda: len(a_policy.launched) + len(b_policy.launched) == 6, 20)
            for rec, policy in ((a, a_policy), (b, b_policy)):
                for tid in policy.launched:
                    rec.status(tid, "TASK_RUNNING")
            state = cluster.state()
            assert a.framework_id is not None and b.framework_id is not None
            a_share = used(state, "cpus", framework_id=a.framework_id) / 6
            b_share = used(state, "cpus", framework_id=b.framework_id) / 6
            assert (a_share, b_share) == (pytest.approx(4 / 6), pytest.approx(2 / 6))
            assert a_share / b_share == pytest.approx(2.0)


def test_strict_priority_offers_the_higher_role_first_until_it_suppresses() -> None:
    with LocalCluster(agents=1, resources="cpus:4;mem:4096", allocator="strict", weights="hi=2,lo=1",
                      **FAST) as cluster:
        hi_policy = OneTaskPerOffer("hi", 1, 512, limit=2)
        hi, lo = Recorder(hi_policy, paused=True), Recorder()
        with running(cluster, hi, framework("strict-hi", "hi")):
            assert hi.next_offer(0) is not None  # held: lo registers while hi has everything
            with running(cluster, lo, framework("strict-lo", "lo")):
                hi.resume()
                got = lo.next_offer(0)
                assert got is not None
                assert hi_policy.suppressed_at is not None and hi_policy.suppressed_at <= got[0]
                assert len(hi_policy.launched) == 2 and not hi_policy.starved
                # hi was offered the remainder again after each launch (refuse_seconds 0), before lo saw anything
                assert len(hi.offers) >= 3
                assert (scalar(got[1], "cpus"), scalar(got[1], "mem")) == (2.0, 3072.0)
                for tid in hi_policy.launched:
                    hi.status(tid, "TASK_RUNNING")
