"""``mesopy`` against a real master and agent (OS processes): tables and JSON,
--master before or after the subcommand and from MESOPY_MASTER, task id
prefixes, cat, and tail -f following a task as it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import HttpCluster, get_json, wait_until
from tests.integration.operators_support import ROOT

pytestmark = pytest.mark.integration

MESOPY = [sys.executable, os.path.join(ROOT, "bin", "mesopy")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path_factory.mktemp("cli")))
    yield c
    c.close()


def mesopy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MESOPY_")}
    return subprocess.run([*MESOPY, *args], capture_output=True, text=True, timeout=30, cwd=ROOT,
                          env={**clean, **(env or {})})


def running(cluster: HttpCluster, name: str, count: int = 1) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        tasks = [t for t in get_json(cluster.http + "/master/tasks")["tasks"]
                 if t["name"] == name and t["state"] == "TASK_RUNNING"]
        return tasks if len(tasks) == count else None
    return wait_until(probe, f"{count} {name} tasks running")


def test_tables_json_and_where_the_master_is_named(cluster: HttpCluster) -> None:
    go = cluster.run_task("listed")
    (task,) = running(cluster, "listed")
    before = mesopy(f"--master={cluster.http}", "tasks")
    assert before.returncode == 0, before.stderr
    header, *rows = before.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "STATE", "FRAMEWORK", "AGENT"]
    assert any(row.split()[:3] == [task["id"], "listed", "TASK_RUNNING"] for row in rows)
    address = cluster.http.removeprefix("http://")
    after = mesopy("tasks", "--json", "--master", address)
    assert after.returncode == 0, after.stderr
    assert task["id"] in [t["id"] for t in json.loads(after.stdout)]
    from_env = mesopy("agents", env={"MESOPY_MASTER": address})
    assert from_env.returncode == 0 and from_env.stdout.split()[:6] == ["ID", "HOSTNAME", "ACTIVE", "CPUS", "MEM", "HTTP"]
    assert cluster.agent_http.removeprefix("http://") in from_env.stdout
    frameworks = mesopy("frameworks", f"--master={address}", "--json")
    assert task["framework_id"] in [f["id"] for f in json.loads(frameworks.stdout)]
    state = mesopy("state", f"--master={address}")
    assert json.loads(state.stdout)["slaves"][0]["active"] is True

    open(go, "w").close()
    wait_until(lambda: task["id"] not in mesopy("tasks", f"--master={address}").stdout, "task gone from tasks")
    assert task["id"] in mesopy("tasks", "--all", f"--master={address}").stdout
    assert mesopy("cat", task["id"][:-1], f"--master={address}").stdout == "started\ndone\n"


def test_task_prefixes_unique_ambiguous_unknown(cluster: HttpCluster) -> None:
    go = cluster.run_task("twin", instances=2)
    tasks = running(cluster, "twin", 2)
    ids = sorted(t["id"] for t in tasks)
    ambiguous = mesopy("cat", "twin", f"--master={cluster.http}")
    assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr
    assert all(i in ambiguous.stderr for i in ids)
    unknown = mesopy("cat", "no-such-task", f"--master={cluster.http}")
    assert unknown.returncode == 1 and "no-such-task" in unknown.stderr
    unique = mesopy("cat", ids[1], "stdout", f"--master={cluster.http}")
    assert unique.returncode == 0 and unique.stdout == "started\n"
    open(go, "w").close()


def test_tail_follows_a_task_as_it_prints_and_ends_with_it(cluster: HttpCluster) -> None:
    go = cluster.run_task("tailed", lines=3)
    (task,) = running(cluster, "tailed")
    wait_until(lambda: "line-3" in mesopy("cat", task["id"], f"--master={cluster.http}").stdout, "output written")
    last = mesopy("tail", "--lines=2", task["id"], f"--master={cluster.http}")
    assert last.stdout == "line-2\nline-3\n"
    follow = subprocess.Popen([*MESOPY, "tail", "-f", task["id"], f"--master={cluster.http}", "--poll=0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert follow.stdout is not None
        seen: list[str] = []
        first = threading.Thread(target=lambda: seen.append(follow.stdout.readline()))  # type: ignore[union-attr]
        first.start()
        first.join(15)
        assert seen and seen[0] == "started\n"  # flushed while the task still runs
        assert follow.poll() is None
        open(go, "w").close()
        rest, err = follow.communicate(timeout=20)
        assert rest.splitlines()[-1] == "done" and follow.returncode == 0, err
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()


def test_bad_usage_is_one_line_and_exit_2(cluster: HttpCluster) -> None:
    for args, named in ((["frob"], "frob"), ([], "subcommand"), (["cat"], "TASK"), (["tasks", "--lines=-1"], "lines")):
        result = mesopy(*args, f"--master={cluster.http}")
        assert result.returncode == 2 and named in result.stderr and len(result.stderr.splitlines()) == 1
    assert mesopy("--version").returncode == 0
    unreachable = mesopy("tasks", "--master=127.0.0.1:1", "--timeout=2")
    assert unreachable.returncode == 1 and "127.0.0.1:1" in unreachable.stderr
