"""The master under many emulated agents: offers per second to a framework, task launch overhead.

Topology (printed with the figures): the master and its allocator run in a
child OS process on their own Node; this process holds two more Nodes (two
ZeroMQ endpoints, so every message crosses the wire codec): one with the
``AgentEmulator`` (ONE actor, a Process registered under N names ``agent(1)``..
``agent(N)``, each registering as a distinct agent) and one with a real
``MesosSchedulerDriver`` whose scheduler does the measuring.

Per size N:

- registration: time until all N agents got AgentRegistered;
- first round: from the framework's ``registered`` callback until its offers
  cover all N agents (N / that time is ``offers_first_round_per_s``);
- steady offers/s: the framework declines every offer with refuse_seconds=0
  and counts the offers it gets back over a bounded window;
- launch overhead: the framework accepts one held offer with one task; time
  from the ``launchTasks`` call to the emulated agent receiving RunTask,
  sequentially, median and p99.

Raw baselines (same run, fresh OS processes, ``benchmarks/transport.py``):
msgpack + pyzmq DEALER->ROUTER one-way msg/s and REQ/REP round trip.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import threading
import time
from typing import Any

from actors.node import Node
from actors.process import Process
from actors.resources import Resources
from frameworks import MesosSchedulerDriver, Scheduler
from transport.codec import Envelope
from transport.messages import (
    AgentRegistered,
    PingAgent,
    PongAgent,
    RegisterAgent,
    RunTask,
)
from transport.pid import PID

__all__ = [
    "AGENT_COUNTS", "TOPOLOGY", "AgentEmulator", "BenchScheduler", "EmulatorRecords", "master_child",
    "master_figures", "master_table", "one_size", "raw_baselines",
]

AGENT_COUNTS = [1_000, 10_000, 50_000]
AGENT_RESOURCES = "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]"
TOPOLOGY = ("master+allocator in a child OS process; agent emulator (1 actor) and framework "
            "(MesosSchedulerDriver) on two separate Nodes/ZeroMQ endpoints in the parent OS process")
Conn = Any


def _quiet() -> None:
    from actors.logs import configure_logging

    configure_logging(level="warning")


def master_child(conn: Conn, allocation_interval: float, heartbeat_timeout: float = 3.0) -> None:
    """Child OS process: a Node with the master; sends its address, runs until told to stop."""
    from actors.master import MasterConfig, spawn_master
    from actors.master.main import tune_gc

    _quiet()
    tune_gc()  # as mesopy-master does
    node = Node(heartbeat_timeout=heartbeat_timeout).start()
    spawn_master(node, MasterConfig(ip=node.host, port=node.port, allocation_interval=allocation_interval))
    try:
        conn.send(node.address)
        conn.recv()  # "stop", or EOFError when the parent is gone
    except (EOFError, OSError):
        pass
    finally:
        node.stop()
    try:
        conn.send("stopped")
    except OSError:
        pass


class EmulatorRecords:
    """What the emulator saw, shared with the measuring thread (guarded by ``cond``)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.cond = threading.Condition()
        self.agent_ids: dict[str, str] = {}  # name -> agent id
        self.registered = threading.Event()
        self.pings = 0
        self.run_tasks: dict[str, float] = {}  # task id -> time.perf_counter() on receipt

    def wait_task(self, task_id: str, timeout: float) -> float | None:
        """perf_counter() at which RunTask for ``task_id`` arrived, or None after ``timeout``."""
        with self.cond:
            self.cond.wait_for(lambda: task_id in self.run_tasks, timeout)
            return self.run_tasks.get(task_id)


class AgentEmulator(Process):
    """N agents in one process: registers ``agent(1)``.. on ``node``, answers pings, records RunTask arrivals.

    The node routes each of those names to this one actor (``node.register`` takes
    the same Process under several names); ``_handle`` sees every envelope, so each
    agent answers as itself (from ``env.receiver``)."""

    def __init__(self, node: Node, master: PID, records: EmulatorRecords, resources: str = AGENT_RESOURCES) -> None:
        super().__init__(node, "agent-emulator")
        self.master = master
        self.records = records
        self.names = [f"agent({i})" for i in range(1, records.count + 1)]
        self.resources = Resources.parse(resources).to_dicts()

    def initialize(self) -> None:
        for name in self.names:  # the node routes every one of these names to this actor
            self.node.register(name, self)
        for i, name in enumerate(self.names, 1):
            pid = self.node.pid(name)
            info = {"hostname": f"emu-{i}.bench", "port": self.node.port, "resources": self.resources,
                    "attributes": [], "pid": str(pid)}
            self.node.route(pid, self.master, RegisterAgent(agent=info))

    def finalize(self) -> None:
        for name in self.names:
            self.node.unregister(self.node.pid(name))

    def _handle(self, env: Envelope) -> None:
        msg, rec = env.message, self.records
        if type(msg) is PingAgent:
            rec.pings += 1
            self.node.route(env.receiver, env.sender, PongAgent())
        elif isinstance(msg, RunTask):
            now = time.perf_counter()
            tid = msg.task.get("task_id", {}).get("value", "")
            with rec.cond:
                rec.run_tasks[tid] = now
                rec.cond.notify_all()
        elif isinstance(msg, AgentRegistered):
            rec.agent_ids[env.receiver.name] = msg.agent_id
            if len(rec.agent_ids) == rec.count:
                rec.registered.set()


class BenchScheduler(Scheduler):
    """Collects offers until all ``agents`` are covered, then declines (refuse 0) or holds them."""

    def __init__(self, agents: int) -> None:
        self.agents = agents
        self.cond = threading.Condition()
        self.mode = "collect"  # collect -> decline -> hold
        self.registered_at: float | None = None
        self.covered_at: float | None = None
        self.seen: set[str] = set()
        self.held: list[dict[str, Any]] = []
        self.batches: list[tuple[float, int]] = []  # (perf_counter at receipt, offers) in decline mode
        self.statuses: list[dict[str, Any]] = []

    def registered(self, driver: Any, framework_id: dict[str, str], master_info: dict[str, Any]) -> None:
        with self.cond:
            self.registered_at = time.perf_counter()
            self.cond.notify_all()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        now = time.perf_counter()
        with self.cond:
            mode = self.mode
            if mode == "decline":
                self.batches.append((now, len(offers)))
            else:
                self.held.extend(offers)
                if mode == "collect":
                    self.seen.update(o["agent_id"]["value"] for o in offers)
                    if self.covered_at is None and len(self.seen) >= self.agents:
                        self.covered_at = now
            self.cond.notify_all()
        if mode == "decline":
            driver.declineOffer([o["id"] for o in offers], {"refuse_seconds": 0.0})

    def offerRescinded(self, driver: Any, offer_id: dict[str, str]) -> None:
        with self.cond:
            self.held = [o for o in self.held if o["id"] != offer_id]

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses.append(status)

    def wait(self, predicate: Any, timeout: float, what: str) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _start_master(allocation_interval: float, heartbeat_timeout: float, target: Any) -> tuple[Any, Conn, str]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, allocation_interval, heartbeat_timeout), daemon=True)
    proc.start()
    if not parent.poll(60):
        raise RuntimeError("the master child process did not start")
    return proc, parent, parent.recv()


def _stop_master(proc: Any, conn: Conn) -> None:
    try:
        conn.send("stop")
        conn.poll(15)
    except (BrokenPipeError, EOFError, OSError):
        pass
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


def _launch(driver: MesosSchedulerDriver, sched: BenchScheduler, emu: EmulatorRecords, i: int,
            timeout: float) -> float:
    sched.wait(lambda: bool(sched.held), timeout, "an offer to launch on")
    with sched.cond:
        offer = sched.held.pop()
    tid = f"bench-{i}"
    task = {"name": tid, "task_id": {"value": tid}, "agent_id": offer["agent_id"],
            "resources": Resources.parse("cpus:0.1;mem:32").to_dicts(), "command": {"value": "true", "shell": True}}
    t0 = time.perf_counter()
    driver.launchTasks(offer["id"], [task])
    arrived = emu.wait_task(tid, timeout)
    if arrived is None:
        raise RuntimeError(f"RunTask for {tid} did not reach the agent within {timeout} s; "
                           f"statuses: {sched.statuses[-3:]}")
    return arrived - t0


def one_size(agents: int, launches: int, window: float, allocation_interval: float = 1.0,
             heartbeat_timeout: float = 3.0, master_target: Any = master_child) -> dict[str, float]:
    """Figures for ``agents`` emulated agents (fresh master, emulator and framework).

    ``heartbeat_timeout``: every Node's (the runtime's default is 3 s). ``master_target(conn,
    allocation_interval, heartbeat_timeout)`` runs the master in the child (e.g. a profiling variant).
    """
    timeout = max(60.0, agents / 200)
    proc, conn, address = _start_master(allocation_interval, heartbeat_timeout, master_target)
    master = PID.parse(f"master@{address}")
    emu_node = Node(heartbeat_timeout=heartbeat_timeout).start()
    fw_node = Node(heartbeat_timeout=heartbeat_timeout).start()
    driver: MesosSchedulerDriver | None = None
    try:
        t0 = time.perf_counter()
        emu = EmulatorRecords(agents)
        AgentEmulator.spawn(emu_node, master, emu)
        if not emu.registered.wait(timeout):
            raise RuntimeError(f"only {len(emu.agent_ids)} of {agents} agents registered in {timeout} s")
        registration_s = time.perf_counter() - t0
        sched = BenchScheduler(agents)
        driver = MesosSchedulerDriver(sched, {"user": "bench", "name": "bench"}, address, node=fw_node)
        driver.start()
        sched.wait(lambda: sched.covered_at is not None, timeout, f"offers covering {agents} agents")
        assert sched.covered_at is not None and sched.registered_at is not None
        first_s = sched.covered_at - sched.registered_at
        # steady state: decline everything with refuse_seconds=0; count what comes back
        with sched.cond:
            held, sched.held = sched.held, []
            sched.mode = "decline"
            start = time.perf_counter()
        driver.declineOffer([o["id"] for o in held], {"refuse_seconds": 0.0})
        span = min(max(window, 2.5 * first_s), 4 * window)
        time.sleep(span)  # a benchmark's measuring window, not a test synchronisation
        with sched.cond:
            sched.mode = "hold"
            batches = list(sched.batches)
        offered = sum(n for t, n in batches if t <= start + span)
        last = max((t for t, _ in batches if t <= start + span), default=start + span)
        steady = offered / (last - start) if offered else 0.0
        # launches on a quiet master: wait until every declined offer is back (and held)
        sched.wait(lambda: len(sched.held) >= agents, timeout, f"offers of all {agents} agents held")
        samples = [_launch(driver, sched, emu, i, timeout) for i in range(launches)]
        return {"agent_registration_s": registration_s, "offers_first_round_s": first_s,
                "offers_first_round_per_s": agents / first_s, "offers_per_s": steady,
                "offers_steady_counted": float(offered), "offers_steady_window_s": last - start,
                "launch_overhead_s": statistics.median(samples), "launch_overhead_p99_s": _percentile(samples, 0.99),
                "launch_overhead_max_s": max(samples), "launches": float(len(samples)), "pings": float(emu.pings)}
    finally:
        if driver is not None:
            driver.stop()
            driver.join(5)
        _stop_master(proc, conn)
        fw_node.stop()
        emu_node.stop()


def raw_baselines(quick: bool) -> dict[str, float]:
    """Raw msgpack + pyzmq between two fresh OS processes (benchmarks/transport.py's pairs)."""
    from benchmarks import transport as tb

    n_send, n_rr = (20_000, 1_000) if quick else (50_000, 2_000)
    rate = float(tb._pair(tb.raw_sink, (n_send,), tb.raw_source, (n_send,)))
    rr = tb._pair(tb.raw_rep, (), tb.raw_req, (n_rr,))
    return {"raw_dealer_router_msg_s": rate, "raw_req_rep_median_s": rr["median_us"] / 1e6,
            "raw_req_rep_p99_s": rr["p99_us"] / 1e6}


def master_figures(agent_counts: list[int] | None = None, quick: bool = False) -> dict[str, Any]:
    """JSON-able figures keyed like ``{"offers_per_s": {"1000": ...}, "launch_overhead_s": {...}, ...}``.

    ``quick``: fewer launches and a shorter window; without ``agent_counts``, no size over 10,000.
    """
    counts = list(AGENT_COUNTS if agent_counts is None else agent_counts)
    if quick and agent_counts is None:
        counts = [n for n in counts if n <= 10_000]
    launches, window = (50, 3.0) if quick else (100, 4.0)
    figs: dict[str, Any] = {"master_topology": TOPOLOGY}
    figs.update(raw_baselines(quick))
    for n in counts:
        for key, value in one_size(n, launches, window).items():
            figs.setdefault(key, {})[str(n)] = value
    figs["offers_vs_raw_msgs"] = {k: v / figs["raw_dealer_router_msg_s"] for k, v in figs["offers_per_s"].items()}
    figs["launch_vs_raw_rtt"] = {k: v / figs["raw_req_rep_median_s"]
                                 for k, v in figs["launch_overhead_s"].items()}
    return figs


def master_table(figs: dict[str, Any]) -> str:
    head = (f"{'agents':>7} {'register s':>10} {'1st round s':>11} {'1st offers/s':>12} {'offers/s':>10} "
            f"{'vs raw':>7} {'launch med ms':>13} {'p99 ms':>8} {'vs raw rtt':>10}")
    lines = ["master: emulated agents, one framework (" + figs["master_topology"] + ")", head, "-" * len(head)]
    for key in figs.get("offers_per_s", {}):
        lines.append(
            f"{key:>7} {figs['agent_registration_s'][key]:>10.2f} {figs['offers_first_round_s'][key]:>11.3f} "
            f"{figs['offers_first_round_per_s'][key]:>12.0f} {figs['offers_per_s'][key]:>10.0f} "
            f"{figs['offers_vs_raw_msgs'][key]:>7.3f} {figs['launch_overhead_s'][key] * 1e3:>13.2f} "
            f"{figs['launch_overhead_p99_s'][key] * 1e3:>8.2f} {figs['launch_vs_raw_rtt'][key]:>9.1f}x")
    lines.append(f"raw baseline (same run): msgpack+pyzmq DEALER->ROUTER {figs['raw_dealer_router_msg_s']:,.0f} msg/s; "
                 f"REQ/REP round trip median {figs['raw_req_rep_median_s'] * 1e6:.0f} us, "
                 f"p99 {figs['raw_req_rep_p99_s'] * 1e6:.0f} us")
    lines.append("offers/s: steady state, every offer declined with refuse_seconds=0; launch: launchTasks call "
                 "-> RunTask at the agent")
    return "\n".join(lines)
