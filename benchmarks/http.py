"""HTTP benchmark: /master/state at scale, and GETs beside task launches, each beside a raw baseline.

    python benchmarks/http.py [--json] [--quick]

Topology: the master (its Node, allocator and HTTP server) runs in a child OS
process, beside a bare HTTP server of the same kind (transport/http.py) that
answers precomputed bytes: the raw baseline. This process holds the agent
emulator (one actor registered as N agents, benchmarks/master_emulation.py)
and a MesosSchedulerDriver on two Nodes; HTTP load comes from a third OS
process with keep-alive connections on threads.

- Wave 1 (no HTTP load): N agents' offers are accepted with T/N tasks each;
  launch rate = T / (time until the last RunTask reached its agent).
- /master/state with N agents and T tasks: size, median latency of
  sequential GETs; raw: the bare server answering as many bytes.
- Wave 2: the same launches while the load process GETs ``--path``
  (default /metrics/snapshot, what monitoring polls) as fast as it can: GETs/s and the launch
  rate; raw: GETs/s of the bare server's small answer with no launches.

1,000 agents and 10,000 tasks (--quick: 200 and 2,000). With --json the last
line is one JSON object with stable keys (see ``KEYS``).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" or __name__ == "__mp_main__":  # this file is named http: never shadow the stdlib's
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from actors.node import Node  # noqa: E402
from actors.resources import Resources  # noqa: E402
from benchmarks.master_emulation import AgentEmulator, BenchScheduler, EmulatorRecords  # noqa: E402
from frameworks import MesosSchedulerDriver  # noqa: E402
from transport.pid import PID  # noqa: E402

__all__ = ["KEYS", "main", "measure"]

KEYS = ("agents", "tasks", "state_bytes", "state_latency_ms", "raw_same_size_latency_ms", "state_latency_ratio",
        "get_latency_ms_idle", "launch_per_s_idle", "launch_per_s_under_http", "launch_ratio", "gets_per_s_under_launch",
        "raw_gets_per_s", "gets_ratio")
TASK = Resources.parse("cpus:0.1;mem:32").to_dicts()


def master_child(conn: Any) -> None:
    """Child OS process: master + its HTTP server, and the bare HTTP server; runs until told to stop."""
    from actors.logs import configure_logging
    from actors.master import MasterConfig, spawn_master
    from actors.master.main import tune_gc
    from transport.http import HttpReply, HttpRequest, HttpServer

    configure_logging(level="warning")
    tune_gc()
    node = Node().start()
    http = HttpServer.bind("127.0.0.1", 0)
    spawn_master(node, MasterConfig(ip=node.host, port=node.port, allocation_interval=0.5), http)
    http.start()
    raw = HttpServer.bind("127.0.0.1", 0)
    cache: dict[int, bytes] = {}

    async def raw_bytes(request: HttpRequest) -> HttpReply:
        size = int(request.query.get("size", "64"))
        if size not in cache:
            cache.clear()
            cache[size] = b"x" * size
        return HttpReply(body=cache[size])

    raw.route("/raw", raw_bytes)
    raw.start()
    try:
        conn.send((node.address, http.port, raw.port))
        conn.recv()
    except (EOFError, OSError):
        pass
    finally:
        raw.stop()
        http.stop()
        node.stop()


def load_child(conn: Any, port: int, path: str, threads: int) -> None:
    """Child OS process: ``threads`` keep-alive GET loops on ``path`` until told to stop; sends the count."""
    stop = threading.Event()
    counts = [0] * threads
    errors = [0] * threads

    def loop(i: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.is_set():
            client.request("GET", path)
            response = client.getresponse()
            response.read()
            if response.status == 200:
                counts[i] += 1
            else:  # e.g. 503: the master did not answer within its timeout
                errors[i] += 1

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    conn.recv()  # "go"
    start = time.perf_counter()
    for w in workers:
        w.start()
    conn.recv()  # "stop"
    stop.set()
    elapsed = time.perf_counter() - start
    for w in workers:
        w.join(30)
    conn.send((sum(counts), sum(errors), elapsed))


def _latency_ms(port: int, path: str, runs: int) -> tuple[float, int]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        client.request("GET", path)
        body = client.getresponse().read()
        times.append(time.perf_counter() - t0)
        size = len(body)
    client.close()
    return statistics.median(times) * 1000, size


def _wave(driver: MesosSchedulerDriver, sched: BenchScheduler, emu: EmulatorRecords, agents: int, per_agent: int,
          wave: int, timeout: float) -> float:
    """Accept one offer of each agent with ``per_agent`` tasks; tasks/s until every RunTask arrived."""
    sched.wait(lambda: len({o["agent_id"]["value"] for o in sched.held}) >= agents, timeout, "offers of every agent")
    with sched.cond:
        held, sched.held = sched.held, []
    by_agent = {o["agent_id"]["value"]: o for o in held}
    expected = len(emu.run_tasks) + len(by_agent) * per_agent
    t0 = time.perf_counter()
    for n, offer in enumerate(by_agent.values()):
        tasks = [{"name": "bench", "task_id": {"value": f"w{wave}-{n}-{i}"}, "agent_id": offer["agent_id"],
                  "resources": TASK, "command": {"value": "true", "shell": True}} for i in range(per_agent)]
        driver.launchTasks(offer["id"], tasks)
    with emu.cond:
        if not emu.cond.wait_for(lambda: len(emu.run_tasks) >= expected, timeout):
            raise RuntimeError(f"only {len(emu.run_tasks)} of {expected} RunTasks arrived in {timeout} s")
    return (len(by_agent) * per_agent) / (time.perf_counter() - t0)


def measure(quick: bool, path: str = "/metrics/snapshot", threads: int = 4) -> dict[str, float]:
    agents, tasks = (200, 2_000) if quick else (1_000, 10_000)
    per_agent, timeout = tasks // agents, 120.0
    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    master_proc = ctx.Process(target=master_child, args=(child,), daemon=True)
    master_proc.start()
    if not conn.poll(60):
        raise RuntimeError("the master child did not start")
    address, http_port, raw_port = conn.recv()
    emu_node, fw_node = Node().start(), Node().start()
    driver: MesosSchedulerDriver | None = None
    out: dict[str, float] = {"agents": agents, "tasks": tasks}
    try:
        emu = EmulatorRecords(agents)
        AgentEmulator.spawn(emu_node, PID.parse(f"master@{address}"), emu)
        if not emu.registered.wait(timeout):
            raise RuntimeError(f"only {len(emu.agent_ids)} of {agents} agents registered")
        sched = BenchScheduler(agents)
        sched.mode = "hold"
        driver = MesosSchedulerDriver(sched, {"user": "bench", "name": "bench-http"}, address, node=fw_node)
        driver.start()
        out["launch_per_s_idle"] = _wave(driver, sched, emu, agents, per_agent, 1, timeout)
        runs = 5 if quick else 10
        out["state_latency_ms"], size = _latency_ms(http_port, "/master/state", runs)
        out["state_bytes"] = size
        out["raw_same_size_latency_ms"], _ = _latency_ms(raw_port, f"/raw?size={size}", runs)
        out["state_latency_ratio"] = out["state_latency_ms"] / out["raw_same_size_latency_ms"]
        out["get_latency_ms_idle"], _ = _latency_ms(http_port, path, runs)
        out["gets_per_s_under_launch"], out["launch_per_s_under_http"] = _under_load(
            ctx, http_port, path, threads, lambda: _wave(driver, sched, emu, agents, per_agent, 2, timeout))
        out["launch_ratio"] = out["launch_per_s_under_http"] / out["launch_per_s_idle"]
        out["raw_gets_per_s"], _ = _under_load(ctx, raw_port, "/raw?size=64", threads, lambda: _pause(1.0))
        out["gets_ratio"] = out["gets_per_s_under_launch"] / out["raw_gets_per_s"]
    finally:
        if driver is not None:
            driver.stop()
        fw_node.stop()
        emu_node.stop()
        try:
            conn.send("stop")
        except OSError:
            pass
        master_proc.join(10)
        if master_proc.is_alive():
            master_proc.kill()
    return out


def _pause(seconds: float) -> float:
    threading.Event().wait(seconds)
    return 0.0


def _under_load(ctx: Any, port: int, path: str, threads: int, work: Any) -> tuple[float, float]:
    """(GETs/s of the load process during ``work()``, what ``work()`` returned)."""
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=load_child, args=(child, port, path, threads), daemon=True)
    proc.start()
    try:
        conn.send("go")
        result = work()
        conn.send("stop")
        if not conn.poll(60):
            raise RuntimeError("the load process did not report")
        count, errors, elapsed = conn.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    if errors:
        print(f"GET {path}: {errors} non-200 answers during the load", file=sys.stderr, flush=True)
    return count / elapsed, result


def table(fig: dict[str, float], path: str) -> str:
    return "\n".join([
        f"master with {fig['agents']:,.0f} agents and {fig['tasks']:,.0f} tasks (master in a child OS process)",
        f"  /master/state: {fig['state_bytes'] / 1e6:.2f} MB, {fig['state_latency_ms']:.1f} ms median; "
        f"raw (bare server, same size): {fig['raw_same_size_latency_ms']:.2f} ms; ratio {fig['state_latency_ratio']:.1f}x",
        f"  launches: {fig['launch_per_s_idle']:,.0f} tasks/s without HTTP load, "
        f"{fig['launch_per_s_under_http']:,.0f} tasks/s under GET {path} load; ratio {fig['launch_ratio']:.2f}",
        f"  GET {path}: {fig['get_latency_ms_idle']:.1f} ms median with no launches; {fig['gets_per_s_under_launch']:,.0f}/s; "
        f"raw (bare server, 64 bytes): {fig['raw_gets_per_s']:,.0f}/s; ratio {fig['gets_ratio']:.3f}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--quick", action="store_true", help="200 agents and 2,000 tasks")
    parser.add_argument("--path", default="/metrics/snapshot", help="the endpoint loaded during wave 2")
    args = parser.parse_args(argv)
    from actors.logs import configure_logging

    configure_logging(level="warning")
    fig = measure(args.quick, args.path)
    print(table(fig, args.path), flush=True)
    if args.json:
        print(json.dumps({k: round(fig[k], 3) for k in KEYS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
