"""The registry and registrar in the master core: writes before acknowledgements, in order, a failure
aborts; a new leader's recovered agents, reconciliation silent about them, the re-register timeout."""

from __future__ import annotations

from typing import Any

import pytest

from actors.master.model import Abort, Effect, WriteRegistry
from actors.master.registry import AgentRecord, Registry, RegistryError
from actors.resources import Resources
from tests.unit.master_helpers import FW, Harness, of_type
from transport import messages as m

ZK = "zk://127.0.0.1:2181/mesos"
A1, A2 = "agent(1)@127.0.0.1:5051", "agent(2)@127.0.0.1:5052"
RES = Resources.parse("cpus:4;mem:4096").to_dicts()


def writes(effects: list[Effect]) -> list[Registry]:
    return [Registry.decode(e.data) for e in effects if isinstance(e, WriteRegistry)]


def durable(**flags: Any) -> Harness:
    return Harness(zk=ZK, **flags)


def written(h: Harness, error: str = "") -> list[Effect]:
    return h.apply(h.core.registry_written(error, h.now))


def drain(h: Harness) -> list[Effect]:
    """Complete every write, each as the store reports it done."""
    out: list[Effect] = []
    while h.core.registrar.busy:
        out += written(h)
    return out


# --- the registry's data ---------------------------------------------------------------------


def test_registry_round_trips_and_refuses_garbage() -> None:
    reg = Registry()
    reg.admit(AgentRecord("S1", "h1", A1))
    reg.admit(AgentRecord("S2", "h2", A2))
    reg.mark_unreachable("S2", 100.0)
    reg.mark_gone("S3", 200.0)
    back = Registry.decode(reg.encode())
    assert back == reg and list(back.admitted) == ["S1"] and back.unreachable == {"S2": 100.0}
    assert Registry.decode(None) == Registry() == Registry.decode(b"")
    with pytest.raises(RegistryError, match="not zlib-compressed JSON"):
        Registry.decode(b"{not zlib")


def test_unreachable_ids_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actors.master.registry.MAX_UNREACHABLE", 3)
    reg = Registry()
    for i in range(5):
        reg.mark_unreachable(f"S{i}", float(i))
    assert list(reg.unreachable) == ["S2", "S3", "S4"]


def test_ten_thousand_agents_fit_a_znode() -> None:
    reg = Registry()
    for i in range(10_000):
        reg.admit(AgentRecord(f"2b6f0e4c-7d1a-4f0e-9c61-3f1e2a9d7c55-S{i}", f"host-{i}.example", f"agent@10.0.{i % 250}.1:5051"))
    assert len(reg.encode()) < 1024 * 1024


# --- the registrar: acknowledged after stored, in order, failures abort -----------------------


def test_registration_is_acknowledged_only_after_the_registry_is_stored() -> None:
    h = durable()
    out = h.send(A1, m.RegisterAgent(agent={"hostname": "h1", "resources": RES}))
    assert of_type(out, m.AgentRegistered) == []
    (stored,) = writes(out)
    (aid,) = stored.admitted
    assert stored.admitted[aid] == AgentRecord(aid, "h1", A1)
    # The agent's retry while the write is outstanding is not a second agent.
    assert h.send(A1, m.RegisterAgent(agent={"hostname": "h1", "resources": RES})) == []
    (reply,) = of_type(written(h), m.AgentRegistered, A1)
    assert reply.agent_id == aid and aid in h.core.agents


def test_writes_are_one_at_a_time_and_batch_what_came_meanwhile() -> None:
    h = durable()
    first = writes(h.send(A1, m.RegisterAgent(agent={"hostname": "h1", "resources": RES})))
    assert len(first) == 1
    assert writes(h.send(A2, m.RegisterAgent(agent={"hostname": "h2", "resources": RES}))) == []
    out = written(h)
    assert [r.agent_id for r in of_type(out, m.AgentRegistered)] and len(of_type(out, m.AgentRegistered)) == 1
    (second,) = writes(out)
    assert len(second.admitted) == 2  # the next write holds every change before it
    (reply,) = of_type(written(h), m.AgentRegistered, A2)
    assert h.core.registrar.writes == 2 and reply.agent_id in h.core.agents


def test_a_failed_write_aborts_and_nothing_is_acknowledged() -> None:
    h = durable()
    h.send(A1, m.RegisterAgent(agent={"hostname": "h1", "resources": RES}))
    out = written(h, "BadVersionError")
    assert [e.reason for e in out if isinstance(e, Abort)] == ["registry write failed: BadVersionError"]
    assert of_type(out, m.AgentRegistered) == [] and h.core.agents == {}
    assert h.send(A2, m.RegisterAgent(agent={"hostname": "h2", "resources": RES})) == []  # dropped: aborting


# --- a new leader: recovered agents -----------------------------------------------------------


def recovered(*flags_and_agents: str, **flags: Any) -> Harness:
    """A new leader whose registry admitted agents S1 (at A1) and S2 (at A2), S9 gone."""
    reg = Registry()
    reg.admit(AgentRecord("S1", "h1", A1))
    reg.admit(AgentRecord("S2", "h2", A2))
    reg.mark_gone("S9", 5.0)
    h = durable(**flags)
    h.apply(h.core.recover(reg.encode(), h.now))
    return h


def reregister(h: Harness, pid: str, aid: str, fid: str, *tids: str, fw_info: dict[str, Any] | None = None) \
        -> list[Effect]:
    tasks = [{"task_id": {"value": t}, "framework_id": {"value": fid}, "state": "TASK_RUNNING", "name": t,
              "resources": Resources.parse("cpus:1;mem:128").to_dicts()} for t in tids]
    framework = dict(fw_info or {"name": "fw", "user": "root"}, id={"value": fid})
    return h.send(pid, m.ReregisterAgent(agent={"id": {"value": aid}, "hostname": "h", "resources": RES},
                                         tasks=tasks, frameworks=[framework]))


def reconcile(h: Harness, fid: str, tid: str, aid: str) -> list[dict[str, Any]]:
    out = h.send(FW, m.ReconcileTasks(framework_id=fid, statuses=[
        {"task_id": {"value": tid}, "agent_id": {"value": aid}, "state": "TASK_RUNNING"}]))
    return [u.status for u in of_type(out, m.StatusUpdate, FW)]


def test_reconciliation_says_nothing_about_a_task_on_an_agent_not_yet_reregistered() -> None:
    h = recovered()
    fid = h.framework(FW)
    assert [a["id"] for a in h.core.state(h.now)["recovered_slaves"]] == ["S1", "S2"]
    assert reconcile(h, fid, "t1", "S1") == []  # never TASK_LOST while S1 may come back
    assert h.send(FW, m.KillTask(framework_id=fid, task_id="t1", agent_id="S1")) == []
    out = reregister(h, A1, "S1", fid, "t1")
    assert writes(out) == [] and of_type(out, m.AgentReregistered, A1)  # admitted already: nothing to store
    assert [s["state"] for s in reconcile(h, fid, "t1", "S1")] == ["TASK_RUNNING"]
    assert reconcile(h, fid, "t2", "S3") and reconcile(h, fid, "t2", "S3")[0]["state"] == "TASK_LOST"


def test_agents_the_registry_does_not_know_or_marked_gone_are_refused() -> None:
    h = recovered()
    fid = h.framework(FW)
    for aid in ("S7", "S9"):
        (shutdown,) = of_type(reregister(h, A2, aid, fid, "t1"), m.ShutdownAgent, A2)
        assert aid in shutdown.message
    assert "S7" not in h.core.agents and "S9" not in h.core.agents


def test_missing_agents_are_marked_unreachable_at_the_reregister_timeout_not_before() -> None:
    h = recovered(agent_reregister_timeout=600.0)
    plain = h.framework(FW)
    reregister(h, A1, "S1", plain, "t1")
    assert writes(h.advance(599.0)) == [] and "S2" in h.core.recovered
    out = h.advance(2.0)
    (stored,) = writes(out)
    assert "S2" in stored.unreachable and "S2" not in stored.admitted and "S1" in stored.admitted
    assert reconcile(h, plain, "t9", "S2") == []  # not before the mark is stored
    lost = written(h)
    assert [e.agent_id for e in of_type(lost, m.AgentLost, FW)] == ["S2"]
    (answer,) = reconcile(h, plain, "t9", "S2")
    assert answer["state"] == "TASK_LOST" and "unreachable" in answer["message"]
    assert "S1" in h.core.agents and h.core.recovered == {} and h.core.next_deadline() is not None  # S1's pings
    state = h.core.state(h.now)
    assert state["recovered_slaves"] == [] and [a["id"] for a in state["slaves"]] == ["S1"]


def test_partition_aware_frameworks_hear_unreachable_and_keep_their_tasks_when_the_agent_returns() -> None:
    h = recovered(agent_reregister_timeout=10.0)
    pa_info = {"name": "pa", "user": "root", "capabilities": [{"type": "PARTITION_AWARE"}]}
    pa = h.framework(FW, **pa_info)
    plain = h.framework("scheduler(2)@127.0.0.1:6001", name="plain")
    assert len(writes(h.advance(11.0))) == 1  # S1 and S2: one write at a time
    assert sorted(e.agent_id for e in of_type(drain(h), m.AgentLost, FW)) == ["S1", "S2"]
    assert [s["state"] for s in reconcile(h, pa, "t1", "S1")] == ["TASK_UNREACHABLE"]
    # S1 comes back late: it is readmitted (stored first), the plain framework's task is killed there
    # (it was reported lost), the partition-aware one's is running again.
    tasks = [{"task_id": {"value": t}, "framework_id": {"value": f}, "state": "TASK_RUNNING", "name": t,
              "resources": Resources.parse("cpus:1;mem:128").to_dicts()} for f, t in ((pa, "a"), (plain, "b"))]
    out = h.send(A1, m.ReregisterAgent(agent={"id": {"value": "S1"}, "hostname": "h1", "resources": RES},
                                       tasks=tasks, frameworks=[]))
    (stored,) = writes(out)
    assert "S1" in stored.admitted and "S1" not in stored.unreachable and of_type(out, m.AgentReregistered) == []
    out = written(h)
    assert [k.task_id for k in of_type(out, m.KillTask, A1)] == ["b"]
    assert of_type(out, m.AgentReregistered, A1) and list(h.core.agents["S1"].tasks) == [(pa, "a")]
    assert [s["state"] for s in reconcile(h, pa, "a", "S1")] == ["TASK_RUNNING"]


def test_an_in_memory_master_admits_unknown_agents_at_once() -> None:
    h = Harness()
    fid = h.framework(FW)
    out = reregister(h, A1, "S5", fid, "t1")
    assert writes(out) == [] and of_type(out, m.AgentReregistered, A1)
    assert "S5" in h.core.registrar.registry.admitted


def test_registry_flags_name_the_bad_value() -> None:
    from actors.master.config import ConfigError, MasterConfig

    with pytest.raises(ConfigError, match="--registry must be in_memory or replicated_log, got 'bogus'"):
        MasterConfig(registry="bogus").validate()
    with pytest.raises(ConfigError, match="--registry=replicated_log needs --work_dir"):
        MasterConfig(registry="replicated_log").validate()
    with pytest.raises(ConfigError, match="--registry_fetch_timeout must be > 0"):
        MasterConfig(registry_fetch_timeout=0.0).validate()
    assert MasterConfig(registry="replicated_log", work_dir="/tmp/x").validate().durable_registry
    assert not MasterConfig().durable_registry and MasterConfig(zk=ZK).durable_registry
