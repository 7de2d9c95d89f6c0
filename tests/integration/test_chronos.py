"""mesopy-chronos as an OS process against a real master and agent (one cluster for the module).

The jobs' commands append a line to a file under the module's directory: what
ran, and how often, is read from there. The last test kills mesopy-chronos
with SIGKILL in the middle of a chain and restarts it on the same state.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.integration.chronos_support import call, start_master_and_agent
from tests.integration.operators_support import Script, kill_executors_under, run_script

pytestmark = pytest.mark.integration


class Chronos:
    def __init__(self, master: str, state_dir: Path, out: Path) -> None:
        self.master, self.state_dir, self.out = master, state_dir, out
        self.port, self.url = 0, ""
        self.script = self.start()

    def start(self) -> Script:
        """mesopy-chronos on a port it picks (no free-port race), registered; ``port`` and ``url`` are its."""
        script = Script("mesopy-chronos", f"--master={self.master}", f"--state_dir={self.state_dir}",
                        "--http_address=127.0.0.1", "--http_port=0", "--failover_timeout=300",
                        "--mesos_task_disk=0", "--mesos_task_mem=32")
        try:
            self.url = str(script.wait_for("http_ready")["url"]).rstrip("/")
            self.port = int(self.url.rsplit(":", 1)[1])
            script.wait_for("chronos_registered")
        except BaseException:
            script.kill()  # not yet the fixture's to kill
            raise
        return script

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return call(self.url, method, path, body)

    def job(self, name: str) -> dict[str, Any]:
        status, job = self.call("GET", f"/v1/scheduler/job/{name}")
        assert status == 200, job
        return dict(job)

    def finished(self, job: str, state: str = "TASK_FINISHED", timeout: float = 20.0) -> dict[str, Any]:
        return self.script.wait_for("chronos_task_status", timeout=timeout, job=job, state=state)

    def lines(self, name: str) -> list[str]:
        path = self.out / name
        return path.read_text().split() if path.exists() else []


def appends(out: Path, name: str, extra: str = "") -> str:
    """A command appending its job's name (and the time) to ``out/name``."""
    return f"{extra}echo \"$CHRONOS_JOB_NAME\"@$(date +%s.%N) >> {out / name}"


@pytest.fixture(scope="module")
def chronos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chronos]:
    base = tmp_path_factory.mktemp("chronos")
    (base / "out").mkdir()
    scripts: list[Script] = []
    try:
        master = start_master_and_agent(scripts, base / "agent")
        service = Chronos(master, base / "state", base / "out")
        yield service
        scripts.append(service.script)
    finally:
        for script in scripts:
            script.kill()
        kill_executors_under(str(base))
        shutil.rmtree(base, ignore_errors=True)


def test_bad_flags_are_one_line_and_exit_2() -> None:
    done = run_script("mesopy-chronos", "--master=127.0.0.1:5050", "--http_port=99999", "--state_dir=/tmp/x")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "99999" in done.stderr


def test_a_job_every_two_seconds_runs_three_times(chronos: Chronos) -> None:
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    schedule = f"R3/{start.strftime('%Y-%m-%dT%H:%M:%SZ')}/PT2S"
    status, body = chronos.call("POST", "/scheduler/iso8601", {
        "name": "every2", "command": appends(chronos.out, "every2"), "schedule": schedule, "epsilon": "PT30S",
        "owner": "ops@example.com", "concurrent": True})  # a run slower than 2 s does not cost the next one
    assert status == 204, body
    for _ in range(3):
        chronos.finished("every2")
    times = sorted(float(line.split("@")[1]) for line in chronos.lines("every2"))
    assert len(times) == 3
    # Each occurrence once, never before its time and within the job's epsilon (how late a run may
    # start, in Chronos): the n-th start is at or after occurrence n. How soon after its time a run
    # starts is the load's, not Chronos'.
    for n, t in enumerate(times):
        assert start.timestamp() + 2 * n <= t < start.timestamp() + 2 * n + 30, (n, t - start.timestamp())
    job = chronos.job("every2")
    assert job["successCount"] == 3 and job["errorCount"] == 0 and job["schedule"].startswith("R0/")
    assert job["lastSuccess"].endswith("Z") and job["owner"] == "ops@example.com"


def test_a_chain_runs_in_order_through_chronos_python(chronos: Chronos) -> None:
    from chronos import ChronosClient  # chronos-python 1.2.1: the /v1 prefix

    client = ChronosClient(f"127.0.0.1:{chronos.port}")
    client.add({"name": "a", "command": appends(chronos.out, "chain"), "owner": "", "disabled": False,
                "schedule": "R/2030-01-01T00:00:00Z/P1D"})
    client.add({"name": "b", "command": appends(chronos.out, "chain"), "owner": "", "disabled": False,
                "parents": ["a"]})
    client.add({"name": "c", "command": appends(chronos.out, "chain"), "owner": "", "disabled": False,
                "parents": ["b"]})
    assert {j["name"] for j in client.list()} >= {"a", "b", "c"}
    assert [j["name"] for j in client.search(name="b")] == ["b"]
    client.run("a")
    chronos.finished("c")
    assert [line.split("@")[0] for line in chronos.lines("chain")] == ["a", "b", "c"]
    stats = client.job_stat("b")
    assert stats["histogram"]["count"] == 1 and stats["taskStatHistory"][0]["status"] == "SUCCESS"
    slowest = client.scheduler_stat_99th()  # each job's 99th percentile run time (s), slowest first
    assert {s["jobNameLabel"] for s in slowest} >= {"a", "b", "c"}
    assert [s["time"] for s in slowest] == sorted((s["time"] for s in slowest), reverse=True)
    csv = client.scheduler_graph()
    assert "a" in csv and "b" in csv and "c" in csv
    status, dot = chronos.call("GET", "/scheduler/graph/dot")
    assert status == 200 and "digraph" in dot and "->" in dot
    status, page = chronos.call("GET", "/")  # the web UI and the files it loads
    assert status == 200 and "/app.js" in page
    assert all(chronos.call("GET", f"/{name}")[0] == 200 for name in ("app.js", "graph.js", "style.css"))


def test_a_failing_parent_is_retried_and_does_not_trigger_its_child(chronos: Chronos) -> None:
    for body in ({"name": "flaky", "command": appends(chronos.out, "flaky", "false && ") + "; exit 3",
                  "schedule": "R/2030-01-01T00:00:00Z/P1D", "retries": 1},
                 {"name": "after-flaky", "command": appends(chronos.out, "after"), "parents": ["flaky"]}):
        status, text = chronos.call("POST", "/v1/scheduler/" + ("dependency" if "parents" in body else "iso8601"),
                                    body)
        assert status == 204, text
    assert chronos.call("PUT", "/v1/scheduler/job/flaky")[0] == 204
    chronos.finished("flaky", "TASK_FAILED")
    chronos.finished("flaky", "TASK_FAILED")  # the retry
    job, child = chronos.job("flaky"), chronos.job("after-flaky")
    assert (job["errorCount"], job["successCount"]) == (1, 0)
    assert child["status"] == "idle" and child["successCount"] == 0 and not chronos.lines("after")
    status, text = chronos.call("PUT", "/v1/scheduler/job/success/flaky")  # as if it had run: the child runs
    assert status == 200 and "true" in text
    chronos.finished("after-flaky")
    assert chronos.job("flaky")["successCount"] == 1 and len(chronos.lines("after")) == 1


def test_a_retry_that_succeeds(chronos: Chronos) -> None:
    marker = chronos.out / "second-time"
    command = f"if [ -e {marker} ]; then {appends(chronos.out, 'retry')}; else touch {marker}; exit 1; fi"
    assert chronos.call("POST", "/scheduler/iso8601", {"name": "retry", "command": command, "retries": 2,
                                                       "schedule": "R/2030-01-01T00:00:00Z/P1D"})[0] == 204
    assert chronos.call("PUT", "/scheduler/job/retry")[0] == 204
    chronos.finished("retry", "TASK_FAILED")
    chronos.finished("retry")
    job = chronos.job("retry")
    assert (job["successCount"], job["errorCount"], len(chronos.lines("retry"))) == (1, 0, 1)


@pytest.mark.parametrize(("path", "body", "named"), [
    ("iso8601", {"name": "bad", "command": "true", "schedule": "R/nope/PT1H"}, ["schedule", "R/nope/PT1H"]),
    ("iso8601", {"name": "bad", "command": "true", "schedule": "R/2030-01-01T00:00:00Z/PT1H", "cpus": -0.5},
     ["cpus", "-0.5"]),
    ("dependency", {"name": "bad", "command": "true", "parents": ["ghost"]}, ["parents", "ghost"]),
    ("dependency", {"name": "a", "command": "true", "parents": ["c"]}, ["parents", "c"]),  # a -> b -> c -> a
])
def test_bad_jobs_get_400_naming_field_and_value(chronos: Chronos, path: str, body: dict[str, Any],
                                                 named: list[str]) -> None:
    status, text = chronos.call("POST", f"/v1/scheduler/{path}", body)
    assert status == 400 and all(n in text for n in named), text
    assert chronos.call("PUT", "/scheduler/job/ghost")[0] == 400


def test_kill_9_in_the_middle_of_a_chain_then_restart(chronos: Chronos) -> None:
    gate = chronos.out / "gate"
    for body in ({"name": "p", "command": appends(chronos.out, "kill9"), "schedule": "R/2030-01-01T00:00:00Z/P1D"},
                 {"name": "q", "command": f"while [ ! -e {gate} ]; do sleep 0.05; done; " + appends(chronos.out, "kill9"),
                  "parents": ["p"]},
                 {"name": "r", "command": appends(chronos.out, "kill9"), "parents": ["q"]}):
        assert chronos.call("POST", "/scheduler/" + ("dependency" if "parents" in body else "iso8601"), body)[0] == 204
    assert chronos.call("PUT", "/scheduler/job/p")[0] == 204
    chronos.finished("q", "TASK_RUNNING")
    before = {j["name"]: j for j in chronos.call("GET", "/scheduler/jobs")[1] if j["name"] not in "pqr"}
    chronos.script.proc.send_signal(signal.SIGKILL)
    chronos.script.kill()
    gate.touch()  # q finishes while no scheduler is connected: its update waits on the agent
    began = time.monotonic()
    chronos.script = chronos.start()
    chronos.finished("r")
    assert [line.split("@")[0] for line in chronos.lines("kill9")] == ["p", "q", "r"]
    assert time.monotonic() - began < 30
    events = [json.loads(line) for line in chronos.script.lines if line.startswith("{")]
    after = {e["event"]: e for e in events if e["event"].startswith("chronos_")}
    assert after["chronos_state_loaded"]["active_runs"] == 1 and after["chronos_reconciling"]["tasks"] == 1
    assert any(e["event"] == "chronos_task_status" and e["job"] == "q" and e["state"] == "TASK_FINISHED"
               and e["known"] for e in events)  # q's end reached the restarted instance, from the agent
    assert [chronos.job(n)["successCount"] for n in "pqr"] == [1, 1, 1]
    after_jobs = {j["name"]: j for j in chronos.call("GET", "/scheduler/jobs")[1] if j["name"] not in "pqr"}
    assert after_jobs == before  # every other job (from the tests before) is back as it was
