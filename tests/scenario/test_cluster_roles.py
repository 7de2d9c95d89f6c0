"""End to end: hierarchical roles on a LocalCluster (real master, allocator, agent and drivers).

Frameworks in ``eng/backend``, ``eng/frontend`` and ``ops`` share one agent
<8 cpus, 4 GB> by hierarchical DRF: ``eng`` and ``ops`` get half each, and
``eng``'s half is split between its two children (flat DRF over the three
roles would give each about a third). A driver registering an invalid role
is told why through ``error()``.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from frameworks import DRIVER_ABORTED, MesosSchedulerDriver
from frameworks.testing import LocalCluster
from tests.scenario.cluster_support import OneTaskPerOffer, Recorder, framework, running, used

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FAST: dict[str, Any] = {"allocation_interval": 0.05}


def test_hierarchical_roles_share_by_drf_at_each_level() -> None:
    with LocalCluster(agents=1, resources="cpus:8;mem:4096", **FAST) as cluster:
        policies = {role: OneTaskPerOffer(role.replace("/", "-"), 1, 128) for role in ("eng/backend", "eng/frontend",
                                                                                      "ops")}
        recs = {role: Recorder(p, paused=role == "eng/backend") for role, p in policies.items()}
        shared = threading.Condition()
        for rec in recs.values():
            rec.cond = shared  # any framework's callback wakes a wait on all three

        def launched() -> int:
            return sum(len(p.launched) for p in policies.values())

        with running(cluster, recs["eng/backend"], framework("backend", "eng/backend")), \
                running(cluster, recs["eng/frontend"], framework("frontend", "eng/frontend")), \
                running(cluster, recs["ops"], framework("ops", "ops")):
            recs["eng/backend"].resume()  # all three registered before anything is taken
            assert recs["ops"].wait(lambda: launched() == 8, 20), {r: p.launched for r, p in policies.items()}
            for role, rec in recs.items():
                for tid in policies[role].launched:
                    rec.status(tid, "TASK_RUNNING")
            state = cluster.state()
            cpus: dict[str, float] = {}
            for role, rec in recs.items():
                assert rec.framework_id is not None
                cpus[role] = used(state, "cpus", framework_id=rec.framework_id)
                offered = {o["allocation_info"]["role"] for _, o in rec.offers}
                assert offered == {role}
            assert cpus == {"eng/backend": 2.0, "eng/frontend": 2.0, "ops": 4.0}
            roles = {f["name"]: f["roles"] for f in state["frameworks"]}
            assert roles == {"backend": ["eng/backend"], "frontend": ["eng/frontend"], "ops": ["ops"]}


def test_driver_registering_an_invalid_role_gets_an_error() -> None:
    with LocalCluster(agents=1, resources="cpus:2;mem:1024", **FAST) as cluster:
        rec = Recorder()
        driver = MesosSchedulerDriver(rec, framework("bad-role", "a//b"), cluster.master)
        driver.start()
        try:
            assert rec.wait(lambda: rec.errors, 15), "no error() for role 'a//b'"
            assert "'a//b'" in rec.errors[0] and "adjacent slashes" in rec.errors[0]
            assert driver.join(5) == DRIVER_ABORTED
            assert rec.framework_id is None and rec.offers == []
            assert cluster.state()["frameworks"] == []
        finally:
            driver.stop()
