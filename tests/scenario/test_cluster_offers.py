"""End to end: decline filters, revive, suppress and invalid launches against the real master and agent."""

from __future__ import annotations

import time
from typing import Any

import pytest

from frameworks.testing import LocalCluster
from tests.scenario.cluster_support import (
    Recorder,
    command_task,
    framework,
    res,
    running,
    scalar,
    used,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CLUSTER: dict[str, Any] = {"agents": 1, "resources": "cpus:2;mem:1024", "allocation_interval": 0.1}
TOLERANCE = 0.05


def full(offer: dict[str, Any]) -> bool:
    return (scalar(offer, "cpus"), scalar(offer, "mem")) == (2.0, 1024.0)


def test_decline_filter_holds_for_refuse_seconds_then_expires() -> None:
    declined: list[float] = []

    def decline(rec: Recorder, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            driver.declineOffer(offer["id"], {"refuse_seconds": 2})
            declined.append(time.monotonic())

    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder(decline)
        with running(cluster, rec, framework("filters")):
            assert rec.next_offer(0) is not None
            again = rec.next_offer(1, timeout=8)
            assert again is not None, "the declined resources never came back"
            gap = again[0] - declined[0]
            assert 2 - TOLERANCE <= gap < 5, gap
            assert full(again[1])


def test_revive_clears_the_filter_and_suppress_stops_offers_until_revive() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder()
        with running(cluster, rec, framework("revive")) as driver:
            first = rec.next_offer(0)
            assert first is not None
            driver.declineOffer(first[1]["id"], {"refuse_seconds": 60})
            driver.reviveOffers()
            again = rec.next_offer(1, timeout=5)  # well within the 60 s filter: the revive cleared it
            assert again is not None and full(again[1])

            driver.suppressOffers()
            driver.declineOffer(again[1]["id"], {"refuse_seconds": 0})
            # Ten allocation intervals without an offer (a wait on the condition, not a sleep).
            assert not rec.wait(lambda: len(rec.offers) > 2, timeout=1.0)
            state = cluster.state()
            assert state["slaves"][0]["offered_resources"].get("cpus", 0.0) == 0.0
            driver.reviveOffers()
            back = rec.next_offer(2, timeout=5)
            assert back is not None and full(back[1])


def test_invalid_launches_are_refused_and_leak_nothing() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder()
        with running(cluster, rec, framework("invalid")) as driver:
            offer = rec.next_offer(0)
            assert offer is not None and full(offer[1])
            # Too many cpus for the offer.
            driver.launchTasks(offer[1]["id"], [command_task("big", offer[1], 3, 128)], {"refuse_seconds": 0})
            big = rec.status("big", "TASK_ERROR")
            assert big["reason"] == "REASON_TASK_INVALID" and big["source"] == "SOURCE_MASTER"
            offer = rec.next_offer(1)
            assert offer is not None and full(offer[1])

            # An offer id the master never made (the real offer is still held).
            bogus = {"value": offer[1]["id"]["value"] + "-bogus"}
            driver.launchTasks(bogus, [command_task("ghost", offer[1], 1, 128)])
            ghost = rec.status("ghost", "TASK_LOST")
            assert ghost["reason"] == "REASON_INVALID_OFFERS"

            # A duplicate task id: the second launch fails, the first keeps running.
            driver.launchTasks(offer[1]["id"], [command_task("dup", offer[1], 0.5, 128)], {"refuse_seconds": 0})
            rec.status("dup", "TASK_RUNNING")
            offer = rec.next_offer(2)
            assert offer is not None and (scalar(offer[1], "cpus"), scalar(offer[1], "mem")) == (1.5, 896.0)
            driver.launchTasks(offer[1]["id"], [command_task("dup", offer[1], 0.5, 128)], {"refuse_seconds": 0})
            dup = rec.status("dup", "TASK_ERROR")
            assert dup["reason"] == "REASON_TASK_INVALID" and "duplicate" in dup.get("message", "")
            state = cluster.state()
            assert (used(state, "cpus"), used(state, "mem")) == (0.5, 128.0)
            assert [t["id"] for t in state["frameworks"][0]["tasks"]] == ["dup"]

            back = rec.next_offer(3)  # the refused launch's offer comes back; it is held
            assert back is not None and (scalar(back[1], "cpus"), scalar(back[1], "mem")) == (1.5, 896.0)
            count = len(rec.offers)
            assert count == 4
            driver.killTask({"value": "dup"})
            rec.status("dup", "TASK_KILLED")
            # Everything comes back: the held offer plus the new one are the whole agent, nothing is used.
            freed = rec.next_offer(count)
            assert freed is not None and (scalar(freed[1], "cpus"), scalar(freed[1], "mem")) == (0.5, 128.0)
            state = cluster.state()
            assert (used(state, "cpus"), used(state, "mem")) == (0.0, 0.0)
            offered = state["slaves"][0]["offered_resources"]
            assert (offered.get("cpus"), offered.get("mem")) == (2.0, 1024.0)


def test_a_partition_aware_framework_gets_task_dropped_for_invalid_offers() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder()
        info = framework("partition-aware", capabilities=[{"type": "PARTITION_AWARE"}])
        with running(cluster, rec, info) as driver:
            offer = rec.next_offer(0)
            assert offer is not None
            task = {"name": "x", "task_id": {"value": "x"}, "agent_id": offer[1]["agent_id"],
                    "resources": res(1, 128), "command": {"value": "true", "shell": True}}
            driver.launchTasks({"value": "no-such-offer"}, [task])
            dropped = rec.status("x", "TASK_DROPPED")
            assert dropped["reason"] == "REASON_INVALID_OFFERS"
