"""v1 HTTP API benchmark: an HTTP framework beside a driver framework, and held subscriptions.

    python benchmarks/http_api.py [--json] [--quick]

Topology: the master (Node, allocator, HTTP server) runs in a child OS process
(benchmarks/http.py's, allocation every 0.5 s and on events);
a second child runs a bare HTTP server of the same kind (transport/http.py)
whose route answers an event stream with heartbeats only: the raw baseline.
This process holds the agent emulator (one actor registered as N agents,
benchmarks/master_emulation.py), a MesosSchedulerDriver (ZeroMQ) and an HTTP
framework (SUBSCRIBE stream on a thread, calls on a keep-alive connection).

- Offers: for a window both frameworks decline every offer (refuse 0); offers/s
  each received, and the HTTP/driver ratio (one allocator shares the agents).
- Launch latency: each framework accepts an offer with one task, K times; the
  median from the call to the RunTask arriving at its agent, and the ratio.
- Held: F HTTP frameworks subscribe at once (asyncio connections, offers
  suppressed) and stay subscribed; the master's threads before and after (no
  thread per subscriber), its memory per framework, and the bare server's memory
  per held stream (raw) with the ratio.

200 agents, 20 launches, 1,000 held (--quick: 50, 5, 200). With --json the last
line is one JSON object with stable keys (see ``KEYS``).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" or __name__ == "__mp_main__":  # benchmarks/http.py must not shadow the stdlib's http
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from actors.node import Node  # noqa: E402
from actors.resources import Resources  # noqa: E402
from benchmarks.http import master_child  # noqa: E402
from benchmarks.master_emulation import AgentEmulator, BenchScheduler, EmulatorRecords  # noqa: E402
from frameworks import MesosSchedulerDriver  # noqa: E402
from transport.pid import PID  # noqa: E402
from transport.recordio import Decoder  # noqa: E402

__all__ = ["KEYS", "hold_subscriptions", "main", "measure"]

KEYS = ("agents", "offers_per_s_http", "offers_per_s_driver", "offers_ratio", "launch_ms_http", "launch_ms_driver",
        "launch_ratio", "held_frameworks", "subscribe_s", "master_threads_before", "master_threads_held",
        "kb_per_framework", "raw_kb_per_stream", "memory_ratio")
TASK = Resources.parse("cpus:0.1;mem:32").to_dicts()
JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def _status_of(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of OS process ``pid``."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    return out


def raw_child(conn: Any) -> None:
    """Child OS process: a bare HTTP server whose POST /stream is an endless heartbeat stream."""
    from transport.event_stream import EventStream
    from transport.http import HttpReply, HttpRequest, HttpServer
    from transport.recordio import encode

    server = HttpServer.bind("127.0.0.1", 0)
    first = encode(b'{"type":"SUBSCRIBED","subscribed":{}}')

    async def stream(request: HttpRequest) -> HttpReply:
        s = EventStream(heartbeat_every=15.0, heartbeat=encode(b'{"type":"HEARTBEAT"}'))
        s.push(first)
        return HttpReply(stream=s)

    server.route("/stream", stream, methods=("POST",))
    server.start()
    try:
        conn.send(server.port)
        conn.recv()
    except (EOFError, OSError):
        pass
    finally:
        server.stop()


async def hold_subscriptions(port: int, count: int, path: str, call: dict[str, Any],
                             timeout: float = 120.0) -> list[asyncio.StreamWriter]:
    """``count`` connections POSTing ``call`` to ``path``, each read until its SUBSCRIBED event;
    the open connections (close them when done). Errors name the first failure."""
    body = json.dumps(call).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        seen = b""
        while b'"SUBSCRIBED"' not in seen:
            chunk = await reader.read(65536)
            if not chunk:
                raise RuntimeError(f"the server closed a subscription: {seen[:300]!r}")
            seen += chunk
        return writer

    return list(await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), timeout))


class HttpFramework:
    """A v1 HTTP scheduler: the event stream read on a thread, calls on a keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cond = threading.Condition()
        self.offers: list[dict[str, Any]] = []
        self.mode = "decline"
        self.offered = 0
        self.framework_id: dict[str, str] | None = None
        self.stream = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.calls = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "bench", "name": "bench-v1"}}}
        self.stream.request("POST", "/api/v1/scheduler", json.dumps(call), JSON)
        self.response = self.stream.getresponse()
        self.stream_id = self.response.getheader("Mesos-Stream-Id", "")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def call(self, call: dict[str, Any]) -> None:
        call["framework_id"] = self.framework_id
        with self.cond:  # one call at a time on the connection
            self.calls.request("POST", "/api/v1/scheduler", json.dumps(call), {**JSON, "Mesos-Stream-Id": self.stream_id})
            response = self.calls.getresponse()
            response.read()
        if response.status != 202:
            raise RuntimeError(f"{call['type']} answered {response.status}")

    def _read(self) -> None:
        decoder = Decoder()
        try:
            while True:
                chunk = self.response.read1(65536)
                if not chunk:
                    return
                for record in decoder.feed(chunk):
                    self._event(json.loads(record))
        except (OSError, http.client.HTTPException):
            return

    def _event(self, event: dict[str, Any]) -> None:
        if event["type"] == "SUBSCRIBED":
            with self.cond:
                self.framework_id = event["subscribed"]["framework_id"]
                self.cond.notify_all()
        elif event["type"] == "OFFERS":
            offers = event["offers"]["offers"]
            with self.cond:
                self.offered += len(offers)
                mode = self.mode
                if mode == "hold":
                    self.offers.extend(offers)
                    self.cond.notify_all()
            if mode == "decline":
                self.call({"type": "DECLINE", "decline": {"offer_ids": [o["id"] for o in offers],
                                                          "filters": {"refuse_seconds": 0}}})

    def close(self) -> None:
        try:
            self.call({"type": "TEARDOWN"})
        except (OSError, RuntimeError, http.client.HTTPException):
            pass
        self.stream.close()
        self.calls.close()


def _launch_http(fw: HttpFramework, emu: EmulatorRecords, tid: str, timeout: float) -> float:
    with fw.cond:
        if not fw.cond.wait_for(lambda: bool(fw.offers), timeout):
            raise RuntimeError("the HTTP framework got no offer to launch on")
        offer = fw.offers.pop()
    task = {"name": tid, "task_id": {"value": tid}, "agent_id": offer["agent_id"], "resources": TASK,
            "command": {"value": "true", "shell": True}}
    t0 = time.perf_counter()
    fw.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]],
                                          "operations": [{"type": "LAUNCH", "launch": {"task_infos": [task]}}]}})
    arrived = emu.wait_task(tid, timeout)
    if arrived is None:
        raise RuntimeError(f"RunTask {tid} did not arrive")
    return arrived - t0


def _launch_driver(driver: MesosSchedulerDriver, sched: BenchScheduler, emu: EmulatorRecords, tid: str,
                   timeout: float) -> float:
    sched.wait(lambda: bool(sched.held), timeout, "an offer for the driver framework")
    with sched.cond:
        offer = sched.held.pop()
    task = {"name": tid, "task_id": {"value": tid}, "agent_id": offer["agent_id"], "resources": TASK,
            "command": {"value": "true", "shell": True}}
    t0 = time.perf_counter()
    driver.launchTasks(offer["id"], [task])
    arrived = emu.wait_task(tid, timeout)
    if arrived is None:
        raise RuntimeError(f"RunTask {tid} did not arrive")
    return arrived - t0


def _start(ctx: Any, target: Any) -> tuple[Any, Any, Any]:
    conn, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child,), daemon=True)
    proc.start()
    if not conn.poll(60):
        raise RuntimeError(f"{target.__name__} did not start")
    return proc, conn, conn.recv()


def _stop(proc: Any, conn: Any) -> None:
    try:
        conn.send("stop")
    except OSError:
        pass
    proc.join(10)
    if proc.is_alive():
        proc.kill()


def _held_kb(pid: int, port: int, count: int, path: str, call: dict[str, Any]) -> tuple[float, float, dict[str, int]]:
    """(kB of RSS per held subscription, seconds to subscribe them all, /proc status while held)."""
    before = _status_of(pid)

    async def run() -> tuple[float, dict[str, int]]:
        t0 = time.perf_counter()
        writers = await hold_subscriptions(port, count, path, call)
        elapsed = time.perf_counter() - t0
        held = _status_of(pid)
        for w in writers:
            w.close()
        return elapsed, held

    elapsed, held = asyncio.run(run())
    return (held["VmRSS"] - before["VmRSS"]) / count, elapsed, held


def measure(quick: bool) -> dict[str, float]:
    agents, launches, held, window = (50, 5, 200, 2.0) if quick else (200, 20, 1_000, 5.0)
    timeout = 60.0
    ctx = mp.get_context("spawn")
    master_proc, master_conn, (address, http_port, _) = _start(ctx, master_child)  # (its bare server: unused)
    raw_proc, raw_conn, raw_port = _start(ctx, raw_child)
    emu_node, fw_node = Node().start(), Node().start()
    driver: MesosSchedulerDriver | None = None
    fw: HttpFramework | None = None
    out: dict[str, float] = {"agents": agents, "held_frameworks": held}
    try:
        emu = EmulatorRecords(agents)
        AgentEmulator.spawn(emu_node, PID.parse(f"master@{address}"), emu)
        if not emu.registered.wait(timeout):
            raise RuntimeError(f"only {len(emu.agent_ids)} of {agents} agents registered")
        sched = BenchScheduler(agents)
        sched.mode = "decline"
        driver = MesosSchedulerDriver(sched, {"user": "bench", "name": "bench-driver"}, address, node=fw_node)
        driver.start()
        fw = HttpFramework(http_port)
        threading.Event().wait(window)  # the measuring window (a benchmark's, not a test's wait)
        with sched.cond:
            driver_offers = sum(n for _, n in sched.batches)
            sched.mode = "hold"
        with fw.cond:
            http_offers, fw.mode = fw.offered, "hold"
        out["offers_per_s_http"], out["offers_per_s_driver"] = http_offers / window, driver_offers / window
        out["offers_ratio"] = http_offers / driver_offers if driver_offers else 0.0
        http_ms = [_launch_http(fw, emu, f"h{i}", timeout) * 1000 for i in range(launches)]
        driver_ms = [_launch_driver(driver, sched, emu, f"d{i}", timeout) * 1000 for i in range(launches)]
        out["launch_ms_http"], out["launch_ms_driver"] = statistics.median(http_ms), statistics.median(driver_ms)
        out["launch_ratio"] = out["launch_ms_http"] / out["launch_ms_driver"]
        fw.close()
        fw = None
        driver.stop()
        driver = None
        out["master_threads_before"] = _status_of(master_proc.pid)["Threads"]
        call = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "bench", "name": "held"},
                                                   "suppressed_roles": ["*"]}}
        kb, out["subscribe_s"], status = _held_kb(master_proc.pid, http_port, held, "/api/v1/scheduler", call)
        out["kb_per_framework"], out["master_threads_held"] = kb, status["Threads"]
        out["raw_kb_per_stream"], _, _ = _held_kb(raw_proc.pid, raw_port, held, "/stream", call)
        out["memory_ratio"] = out["kb_per_framework"] / out["raw_kb_per_stream"] if out["raw_kb_per_stream"] else 0.0
    finally:
        if fw is not None:
            fw.close()
        if driver is not None:
            driver.stop()
        fw_node.stop()
        emu_node.stop()
        _stop(master_proc, master_conn)
        _stop(raw_proc, raw_conn)
    return out


def table(fig: dict[str, float]) -> str:
    return "\n".join([
        f"master with {fig['agents']:,.0f} emulated agents (master in a child OS process)",
        f"  offers/s while declining everything: HTTP framework {fig['offers_per_s_http']:,.0f}, "
        f"driver framework {fig['offers_per_s_driver']:,.0f}; ratio {fig['offers_ratio']:.2f}",
        f"  launch (call to RunTask at the agent), median: HTTP {fig['launch_ms_http']:.2f} ms, "
        f"driver {fig['launch_ms_driver']:.2f} ms; ratio {fig['launch_ratio']:.2f}",
        f"  {fig['held_frameworks']:,.0f} HTTP frameworks subscribed in {fig['subscribe_s']:.2f} s and held; master threads "
        f"{fig['master_threads_before']:.0f} -> {fig['master_threads_held']:.0f}; {fig['kb_per_framework']:.1f} kB "
        f"per framework; raw (bare server, a held stream): {fig['raw_kb_per_stream']:.1f} kB; ratio "
        f"{fig['memory_ratio']:.1f}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--quick", action="store_true", help="50 agents, 5 launches, 200 held frameworks")
    args = parser.parse_args(argv)
    from actors.logs import configure_logging

    configure_logging(level="warning")
    fig = measure(args.quick)
    print(table(fig), flush=True)
    if args.json:
        print(json.dumps({k: round(fig[k], 3) for k in KEYS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
