"""Marathon: time to deploy an app of N instances and to replace a killed task, through a real
``bin/mesopy-marathon``, beside the same tasks launched by a bare driver framework.

    python benchmarks/marathon.py [--json] [--quick] [--instances 100,1000]

Topology, per size N (100, 1,000; --quick: 10, 50): a LocalCluster in this process (master,
allocator, AGENTS agents with emulated executors: every task runs until killed, no OS process per
task, so the figures are the frameworks' and the master's, not fork/exec's), allocation every
ALLOCATION_INTERVAL s; each side gets a fresh cluster of the same shape.

- ``deploy_s``: POST /v2/apps of N instances (cpus 0.1, mem 16, no ports, ``sleep``) -> GET
  /v2/apps?id=<id> (the counts, not the N tasks) says ``tasksRunning == N`` and no deployment
  is left (polled every POLL_S);
- ``replace_s``: DELETE /v2/apps/<id>/tasks/<one task> (not scaled; the app has
  ``backoffSeconds: 0``, so Marathon's launch backoff is not in the figure) -> N running again
  with a new task in place of the killed one. Taken right after the deploy, so on both sides
  the kill waits behind the agents still checkpointing the deploy's status update
  acknowledgements (kill -> TASK_KILLED: ~40 ms on settled agents, 0.1 to 3 s right after a
  deploy of 5 to 1,000 tasks, whichever framework);
- baseline, a bare MesosSchedulerDriver framework in this process launching the same N tasks
  on its offers, registered as mesopy-marathon registers (``checkpoint: true``: the agents
  checkpoint its tasks and status updates, as they do Marathon's): ``driver_deploy_s``
  (start -> N TASK_RUNNING) and ``driver_replace_s`` (killTask -> the replacement's
  TASK_RUNNING);
- ``deploy_ratio`` = deploy_s / driver_deploy_s, ``replace_ratio`` = replace_s / driver_replace_s.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # benchmarks/transport.py must not shadow the transport package
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from typing import Any  # noqa: E402

from actors.logs import configure_logging  # noqa: E402
from benchmarks.cli import sizes_type  # noqa: E402
from frameworks import MesosSchedulerDriver, Scheduler  # noqa: E402
from frameworks.testing import LocalCluster  # noqa: E402

__all__ = ["KEYS", "main", "measure"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (100, 1000)
QUICK_SIZES = (10, 50)
AGENTS = 10
AGENT_RESOURCES = "cpus:32;mem:65536;disk:10240"
ALLOCATION_INTERVAL = 0.2
TASK = {"cpus": 0.1, "mem": 16.0}
POLL_S = 0.02
TIMEOUT_S = 300.0
KEYS = ("sizes", "deploy_s", "replace_s", "driver_deploy_s", "driver_replace_s", "deploy_ratio", "replace_ratio")


def _cluster() -> LocalCluster:
    return LocalCluster(agents=AGENTS, resources=AGENT_RESOURCES, executor="emulated", task_rule=None,
                        allocation_interval=ALLOCATION_INTERVAL, start_timeout=30.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    return status, json.loads(raw) if raw else None


def _until(what: str, probe: Any, timeout: float = TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark: {what} not within {timeout} s")
        time.sleep(POLL_S)  # a benchmark's poll of another process (no event to wait on)


def measure_marathon(n: int) -> tuple[float, float]:
    """(deploy_s, replace_s) for an app of ``n`` instances through mesopy-marathon."""
    with _cluster() as cluster, tempfile.TemporaryDirectory(prefix="mesopy-bench-marathon-") as state:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "mesopy-marathon"),
                                 f"--master={cluster.master}", f"--http_port={port}", "--http_address=127.0.0.1",
                                 "--hostname=127.0.0.1", f"--state_dir={state}", "--log_level=error"],
                                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            def registered() -> bool:
                try:
                    return bool(_call(base + "/v2/info")[1].get("frameworkId"))
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"mesopy-marathon exited with {proc.returncode}") from None
                    return False

            _until("mesopy-marathon registered", registered, 60.0)
            app_id = f"/bench/n{n}"
            app = {"id": app_id, "cmd": "sleep 100000", "instances": n, "portDefinitions": [], "backoffSeconds": 0,
                   **TASK}
            started = time.monotonic()
            status, body = _call(base + "/v2/apps", "POST", app)
            if status != 201:
                raise RuntimeError(f"POST /v2/apps answered {status}: {body}")

            def app_view() -> dict[str, Any]:
                return dict(_call(f"{base}/v2/apps{app_id}?embed=apps.tasks")[1]["app"])

            def counts() -> dict[str, Any]:  # without the N tasks: the poll must not be the load
                return next(a for a in _call(f"{base}/v2/apps?id={app_id}")[1]["apps"] if a["id"] == app_id)

            def deployed() -> bool:
                view = counts()
                return view["tasksRunning"] == n and not view["deployments"]

            _until(f"{n} instances running", deployed)
            deploy_s = time.monotonic() - started
            victim = app_view()["tasks"][0]["id"]
            started = time.monotonic()
            status, body = _call(f"{base}/v2/apps{app_id}/tasks/{victim}", "DELETE")
            if status != 200:
                raise RuntimeError(f"DELETE of task {victim} answered {status}: {body}")

            def replaced() -> bool:
                if counts()["tasksRunning"] != n:
                    return False
                view = app_view()
                running = [t for t in view["tasks"] if t["state"] == "TASK_RUNNING"]
                return len(running) == n and victim not in {t["id"] for t in view["tasks"]}

            _until("the killed task replaced", replaced)
            return deploy_s, time.monotonic() - started
        finally:
            proc.kill()
            proc.wait(10)


class _Bare(Scheduler):
    """Launches ``n`` tasks on its offers; relaunches one for each it is told was killed."""

    def __init__(self, n: int) -> None:
        self.want = n
        self.launched = 0
        self.running: set[str] = set()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.next_id = 0

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            free = {r["name"]: r["scalar"]["value"] for r in offer["resources"] if r.get("type") == "SCALAR"}
            tasks = []
            with self.lock:
                while self.launched < self.want and free.get("cpus", 0) >= TASK["cpus"] + 0.1 \
                        and free.get("mem", 0) >= TASK["mem"] + 32:
                    free["cpus"] -= TASK["cpus"] + 0.1  # + the command executor's overhead, as Marathon's tasks
                    free["mem"] -= TASK["mem"] + 32
                    self.launched += 1
                    self.next_id += 1
                    tasks.append({"name": "bare", "task_id": {"value": f"bare-{self.next_id}"},
                                  "agent_id": offer["agent_id"], "command": {"value": "sleep 100000"},
                                  "resources": [{"name": k, "type": "SCALAR", "scalar": {"value": v}}
                                                for k, v in TASK.items()]})
            if tasks:
                driver.launchTasks(offer["id"], tasks)
            else:
                driver.declineOffer(offer["id"], {"refuse_seconds": ALLOCATION_INTERVAL})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        tid, state = status["task_id"]["value"], status["state"]
        with self.changed:
            if state == "TASK_RUNNING":
                self.running.add(tid)
            elif state in ("TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_FINISHED", "TASK_ERROR"):
                if tid in self.running:
                    self.running.discard(tid)
                    self.launched -= 1  # its replacement goes out on the next offer
            self.changed.notify_all()

    def wait(self, predicate: Any) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, TIMEOUT_S):
                raise RuntimeError(f"bare framework: not reached within {TIMEOUT_S} s ({len(self.running)} running)")


def measure_driver(n: int) -> tuple[float, float]:
    """(deploy_s, replace_s) of the same ``n`` tasks through a bare driver framework."""
    with _cluster() as cluster:
        bare = _Bare(n)
        driver = MesosSchedulerDriver(bare, {"user": "", "name": "bare", "checkpoint": True}, cluster.master)
        started = time.monotonic()
        driver.start()
        try:
            bare.wait(lambda: len(bare.running) == n)
            deploy_s = time.monotonic() - started
            victim = min(bare.running)
            started = time.monotonic()
            driver.killTask({"value": victim})
            driver.reviveOffers()
            bare.wait(lambda: victim not in bare.running and len(bare.running) == n)
            return deploy_s, time.monotonic() - started
        finally:
            driver.stop()
            driver.join(10)


def measure(sizes: tuple[int, ...]) -> dict[str, Any]:
    report: dict[str, Any] = {"sizes": list(sizes), **{k: {} for k in KEYS if k != "sizes"}}
    for n in sizes:
        k = str(n)
        report["driver_deploy_s"][k], report["driver_replace_s"][k] = measure_driver(n)
        report["deploy_s"][k], report["replace_s"][k] = measure_marathon(n)
        report["deploy_ratio"][k] = report["deploy_s"][k] / report["driver_deploy_s"][k]
        report["replace_ratio"][k] = report["replace_s"][k] / report["driver_replace_s"][k]
    return report



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--instances", type=sizes_type("--instances"), default=None,
                        help=f"app sizes (default {','.join(map(str, SIZES))})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    sizes = args.instances or (QUICK_SIZES if args.quick else SIZES)
    configure_logging(level="error")
    report = measure(sizes)
    print(f"{'instances':>9} {'marathon deploy':>16} {'driver deploy':>14} {'ratio':>6} "
          f"{'marathon replace':>17} {'driver replace':>15} {'ratio':>6}")
    for n in sizes:
        k = str(n)
        print(f"{n:9d} {report['deploy_s'][k]:14.3f} s {report['driver_deploy_s'][k]:12.3f} s "
              f"{report['deploy_ratio'][k]:6.2f} {report['replace_s'][k]:15.3f} s "
              f"{report['driver_replace_s'][k]:13.3f} s {report['replace_ratio'][k]:6.2f}")
    report["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
