"""mesopy-chronos' job JSON and run logic as pure cores, driven with a manual clock."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from frameworks.chronos.job import JobDefaults, JobError, check_parents, parse_job
from frameworks.chronos.runs import HISTORY, Runner

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()


def scheduled(name: str, every: str = "PT2S", **extra: Any) -> dict[str, Any]:
    return parse_job({"name": name, "command": f"echo {name}", "schedule": f"R/2026-12-01T00:00:00Z/{every}",
                      "epsilon": "PT1S", **extra}, "iso8601")


def dependent(name: str, *parents: str, **extra: Any) -> dict[str, Any]:
    return parse_job({"name": name, "command": f"echo {name}", "parents": list(parents), **extra}, "dependency")


def finish(runner: Runner, now: float, state: str = "TASK_FINISHED") -> list[str]:
    """Launch every queued run, end each with ``state``; the task ids."""
    ids = [r.task_id for r in runner.queued()]
    for task_id in ids:
        runner.launched(task_id, "agent-1", now)
        runner.update(task_id, "TASK_RUNNING", now)
        assert runner.update(task_id, state, now + 0.5)
    return ids


# --- job.py -------------------------------------------------------------------------------

def test_defaults_and_read_only_fields() -> None:
    job = parse_job({"name": "a", "command": "true", "schedule": "R/2026-12-01T00:00:00Z/PT1H",
                     "successCount": 99, "lastError": "x"}, "iso8601", JobDefaults(user="batch"))
    assert (job["cpus"], job["mem"], job["disk"], job["retries"], job["shell"]) == (0.1, 128.0, 256.0, 2, True)
    assert (job["epsilon"], job["runAsUser"], job["async"], job["disabled"]) == ("PT60S", "batch", False, False)
    assert (job["successCount"], job["errorCount"], job["lastSuccess"], job["lastError"]) == (0, 0, "", "")
    kept = parse_job({"name": "a", "command": "true", "schedule": "R/2026-12-01T00:00:00Z/PT1H"}, "iso8601",
                     existing={"successCount": 3, "lastSuccess": "2026-12-01T00:00:00.000Z"})
    assert (kept["successCount"], kept["lastSuccess"]) == (3, "2026-12-01T00:00:00.000Z")


@pytest.mark.parametrize(("body", "kind", "field", "value"), [
    ({"schedule": "R/yesterday/PT1H"}, "iso8601", "schedule", "R/yesterday/PT1H"),
    ({"schedule": "R/2026-12-01T00:00:00Z/PT1H", "epsilon": "60s"}, "iso8601", "epsilon", "60s"),
    ({"schedule": "R/2026-12-01T00:00:00Z/PT1H", "cpus": -1}, "iso8601", "cpus", -1),
    ({"schedule": "R/2026-12-01T00:00:00Z/PT1H", "mem": "lots"}, "iso8601", "mem", "lots"),
    ({"schedule": "R/2026-12-01T00:00:00Z/PT1H", "retries": -2}, "iso8601", "retries", -2),
    ({"parents": []}, "dependency", "parents", []),
    ({"parents": ["a"], "schedule": "R/2026-12-01T00:00:00Z/PT1H"}, "dependency", "schedule",
     "R/2026-12-01T00:00:00Z/PT1H"),
    ({"schedule": "R/2026-12-01T00:00:00Z/PT1H", "constraints": [["rack", "NEAR", "x"]]}, "iso8601",
     "constraints", ["rack", "NEAR", "x"]),
])
def test_bad_jobs_name_the_field_and_value(body: dict[str, Any], kind: str, field: str, value: Any) -> None:
    with pytest.raises(JobError) as caught:
        parse_job({"name": "bad", "command": "true", **body}, kind)
    assert caught.value.field == field and repr(value) in str(caught.value)


def test_unknown_parent_and_cycle_are_refused() -> None:
    runner = Runner()
    runner.put_job(scheduled("a"))
    runner.put_job(dependent("b", "a"))
    with pytest.raises(JobError, match="parents") as caught:
        check_parents(dependent("c", "nope"), runner.graph, set(runner.jobs))
    assert "nope" in str(caught.value)
    with pytest.raises(JobError, match="parents"):  # a -> b -> a
        check_parents(dependent("a", "b"), runner.graph, set(runner.jobs))


def test_empty_start_is_stored_as_the_time_it_stands_for() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    job = parse_job({"name": "a", "command": "true", "schedule": "R5//PT1H"}, "iso8601", now=now)
    assert job["schedule"].startswith("R5/2026-12-01T11:59:59.000Z/")


# --- runs.py -------------------------------------------------------------------------------

def test_a_job_every_two_seconds_runs_at_each_occurrence_and_rewrites_its_schedule() -> None:
    runner = Runner()
    runner.put_job(scheduled("tick"))
    assert runner.tick(T0 - 1).wake_at == T0 and not runner.queued()
    for n in range(3):
        result = runner.tick(T0 + 2 * n + 0.1)
        assert result.wake_at == T0 + 2 * n + 2
        finish(runner, T0 + 2 * n + 0.2)
        assert runner.tick(T0 + 2 * n + 1).wake_at == T0 + 2 * n + 2 and not runner.queued()
    job = runner.job("tick")
    assert job["successCount"] == 3 and job["schedule"].startswith("R/2026-12-01T00:00:06.000Z")
    assert job["lastSuccess"].startswith("2026-12-01T00:00:04")


def test_runs_do_not_overlap_unless_concurrent() -> None:
    runner = Runner()
    runner.put_job(scheduled("slow"))
    runner.put_job(scheduled("par", concurrent=True))
    runner.tick(T0)
    for run in runner.queued():
        runner.launched(run.task_id, "agent-1", T0)
    runner.tick(T0 + 2)  # each job's previous run is still going
    assert [r.job for r in runner.queued()] == ["par"]
    assert runner.stats("slow")["histogram"]["skipped"] == 1


def test_late_runs_are_skipped_not_run_and_one_catch_up_within_epsilon() -> None:
    runner = Runner()
    runner.put_job(scheduled("late"))
    runner.tick(T0 + 100.5)  # 51 occurrences passed; the last (T0+100) is within epsilon: it runs
    assert len(runner.queued()) == 1
    assert runner.stats("late")["histogram"]["skipped"] == 50
    finish(runner, T0 + 101)
    runner.tick(T0 + 105.5)  # T0+102 and T0+104 are both more than 1 s late
    assert not runner.queued()


def test_retries_then_an_error_and_the_child_is_not_triggered() -> None:
    runner = Runner()
    runner.put_job(scheduled("parent", retries=2))
    runner.put_job(dependent("child", "parent"))
    runner.tick(T0)
    attempts = [finish(runner, T0 + i, "TASK_FAILED")[0] for i in range(3)]
    assert [a.split(":")[2] for a in attempts] == ["0", "1", "2"]
    assert not runner.queued()
    parent = runner.job("parent")
    assert (parent["errorCount"], parent["successCount"], parent["errorsSinceLastSuccess"]) == (1, 0, 1)
    assert runner.job("child")["successCount"] == 0 and runner.status("child") == "idle"


def test_a_chain_runs_in_order_and_a_child_waits_for_every_parent() -> None:
    runner = Runner()
    for job in (scheduled("a", "P1D"), scheduled("x", "P1D"), dependent("b", "a"), dependent("c", "b", "x")):
        runner.put_job(job)
    runner.trigger("a", T0)
    assert finish(runner, T0)[0].split(":")[3] == "a"
    assert [r.job for r in runner.queued()] == ["b"]
    finish(runner, T0 + 1)
    assert not runner.queued()  # c still waits for x
    runner.trigger("x", T0 + 2)
    finish(runner, T0 + 2)
    assert [r.job for r in runner.queued()] == ["c"]
    finish(runner, T0 + 3)
    runner.trigger("x", T0 + 4)
    finish(runner, T0 + 4)
    assert not runner.queued()  # b has not succeeded again since c's run


def test_killed_runs_are_not_retried_and_stale_updates_are_ignored() -> None:
    runner = Runner()
    runner.put_job(scheduled("k", retries=3))
    run = runner.trigger("k", T0)
    assert run is not None
    runner.launched(run.task_id, "agent-1", T0)
    assert [r.task_id for r in runner.kill("k")] == [run.task_id]
    assert runner.update(run.task_id, "TASK_KILLED", T0 + 1)
    assert not runner.queued() and runner.job("k")["errorCount"] == 1
    assert not runner.update(run.task_id, "TASK_KILLED", T0 + 2)  # a duplicate
    assert not runner.update("ct:1:0:nope:", "TASK_FINISHED", T0 + 2)


def test_history_is_bounded_and_stats_have_chronos_shape() -> None:
    runner = Runner()
    runner.put_job(scheduled("many", "P1D"))
    for i in range(HISTORY + 10):
        runner.trigger("many", T0 + i)
        finish(runner, T0 + i)
    stats = runner.stats("many")
    assert len(stats["taskStatHistory"]) == HISTORY
    assert stats["histogram"]["count"] == HISTORY and stats["histogram"]["median"] == pytest.approx(500)
    assert {"75thPercentile", "99thPercentile", "mean"} <= set(stats["histogram"])
    assert stats["taskStatHistory"][0]["status"] == "SUCCESS" and stats["taskStatHistory"][0]["duration"] == "0d0h0m0s"


def test_dump_and_load_keep_runs_parent_successes_and_dependents() -> None:
    runner = Runner()
    for job in (scheduled("a", "P1D"), scheduled("x", "P1D"), dependent("c", "a", "x")):
        runner.put_job(job)
    runner.trigger("a", T0)
    finish(runner, T0)
    run = runner.trigger("x", T0 + 1)
    assert run is not None
    runner.launched(run.task_id, "agent-1", T0 + 1)
    dirty = runner.take_dirty()
    records = [runner.dump(n) for n in sorted(dirty)]
    again = Runner()
    again.load([r for r in records if r is not None])
    assert [r.task_id for r in again.active()] == [run.task_id]
    assert again.update(run.task_id, "TASK_FINISHED", T0 + 2)
    assert [r.job for r in again.queued()] == ["c"]
    assert again.trigger("a", T0 + 3) is not None and again.queued()[-1].task_id != run.task_id


def test_deleting_a_parent_reparents_its_children_as_chronos_does() -> None:
    runner = Runner()
    for job in (scheduled("a", "PT1H"), dependent("b", "a"), dependent("c", "b"), dependent("d", "b", "a")):
        runner.put_job(job)
    runner.remove_job("b")  # c and d take b's parent a
    assert (runner.job("c")["parents"], runner.job("d")["parents"]) == (["a"], ["a"])
    runner.remove_job("a")  # left without parents: they take a's schedule
    assert "parents" not in runner.job("c") and runner.job("c")["schedule"].endswith("/PT1H")
    runner.tick(T0)
    assert sorted(r.job for r in runner.queued()) == ["c", "d"]
    with pytest.raises(KeyError):
        runner.remove_job("a")


# --- offers.py -----------------------------------------------------------------------------

def test_constraints_and_the_task_a_run_launches() -> None:
    from actors.resources import Resources
    from frameworks.chronos.offers import attributes_of, constraints_hold, fit, task_info

    offer = {"id": {"value": "o1"}, "agent_id": {"value": "a1"}, "hostname": "node-7",
             "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "rack-2"}},
                            {"name": "gpus", "type": "SCALAR", "scalar": {"value": 2}}]}
    seen = attributes_of(offer)
    assert constraints_hold([["rack", "EQUALS", "rack-2"], ["hostname", "LIKE", "node-[0-9]+"]], seen)
    assert not constraints_hold([["rack", "UNLIKE", "rack-[12]"]], seen)
    assert not constraints_hold([["zone", "LIKE", ".*"]], seen) and constraints_hold([["zone", "UNLIKE", "x"]], seen)
    job = parse_job({"name": "exe", "command": "/bin/echo", "shell": False, "arguments": ["-n"], "cpus": 1,
                     "mem": 64, "disk": 0, "runAsUser": "batch", "schedule": "R/2026-12-01T00:00:00Z/P1D",
                     "environmentVariables": [{"name": "A", "value": "1"}]}, "iso8601")
    assert fit(job, Resources.parse("cpus:0.5;mem:1024"), "*") is None
    use = fit(job, Resources.parse("cpus:2;mem:1024"), "*")
    assert use is not None
    task = task_info("ct:1:0:exe:x", job, ["x"], 0, offer, use, "root")
    command = task["command"]
    assert (command["shell"], command["value"], command["arguments"]) == (False, "/bin/echo", ["/bin/echo", "-n", "x"])
    assert command["user"] == "batch" and {"name": "A", "value": "1"} in command["environment"]["variables"]
    assert {"name": "CHRONOS_JOB_NAME", "value": "exe"} in command["environment"]["variables"]
    assert sorted(r["name"] for r in task["resources"]) == ["cpus", "mem"]


def test_a_job_marked_successful_counts_and_triggers_its_dependents() -> None:
    runner = Runner()
    runner.put_job(scheduled("a", "P1D"))
    runner.put_job(dependent("b", "a"))
    runner.mark_success("a", T0)
    assert runner.job("a")["successCount"] == 1 and [r.job for r in runner.queued()] == ["b"]


def test_disabled_jobs_do_not_run_and_overdue_runs_are_to_be_killed() -> None:
    runner = Runner()
    runner.put_job(scheduled("off", disabled=True))
    runner.put_job(scheduled("capped", "P1D", maxCompletionTime=30))
    runner.put_job(dependent("after-off", "off"))
    assert runner.tick(T0).kill == [] and [r.job for r in runner.queued()] == ["capped"]
    run = runner.queued()[0]
    runner.launched(run.task_id, "agent-1", T0)
    runner.update(run.task_id, "TASK_RUNNING", T0)
    assert runner.tick(T0 + 29).kill == [] and runner.tick(T0 + 31).kill == [run.task_id]
    assert runner.tick(T0 + 35).kill == []  # once
    runner.update(run.task_id, "TASK_KILLED", T0 + 36)
    assert not runner.queued() and runner.job("capped")["errorCount"] == 1  # not retried
    runner.put_job(dependent("after-off", "off", disabled=True))
    runner.mark_success("off", T0 + 32)  # a disabled child is not triggered either
    assert [r.job for r in runner.queued()] == []
