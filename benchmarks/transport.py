"""Transport benchmark: the runtime against raw pyzmq + msgpack and raw pykka, in one run.

    python benchmarks/transport.py [--json] [--quick]

Every figure is measured next to its raw baseline, each side in fresh OS
processes (multiprocessing, spawn), and printed with the ratio ours / raw:

  remote one-way   raw DEALER->ROUTER, one msgpack message per frame, unpacked on
                   receipt  vs  Process.send of Echo between actors in two OS
                   processes; msg/s from the first send until the receiver has
                   counted all N and its one reply is back.
  request/response raw REQ/REP round trips  vs  sequential Process.request between
                   actors in two OS processes; median and p99 in microseconds. The
                   answering handler is installed inline (it runs on the I/O thread
                   when the actor is idle); ``request_response_mailbox_*``: the same
                   with the handler on the actor's thread, as handlers run by default.
  local send       pykka tell of a tiny object into a bare ThreadingActor  vs
                   Process.send into a local Process; msg/s until all N handled.
  encrypted        the remote one-way and request/response figures of ours again with
                   CURVE on both nodes (ephemeral keys, the sink's pinned), beside
                   plain in the same run: ``encrypted_*`` and ratio encrypted / plain.

Each figure is the best of a few runs (as many for ours as for raw); with
--json the last line is one JSON object holding every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import zmq

if __name__ in ("__main__", "__mp_main__"):  # this file is named like the package it measures
    _root = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [_root] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

Conn = Any
PAYLOAD = b"x" * 16


def _raw_message(i: int) -> dict[str, Any]:  # about 100 bytes packed, like our envelopes
    return {"sender": "bench@127.0.0.1:5000", "receiver": "sink@127.0.0.1:5001", "type": "Echo",
            "body": {"payload": PAYLOAD, "seq": i}, "corr": 0}


# --- raw pyzmq + msgpack -----------------------------------------------------------


def raw_sink(conn: Conn, n: int) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    conn.send(router.bind_to_random_port("tcp://127.0.0.1"))
    identity, _ = router.recv_multipart()  # warm-up: the connection is up
    router.send_multipart([identity, b"ready"])
    unpackb = msgpack.unpackb
    for _ in range(n):
        identity, frame = router.recv_multipart()
        unpackb(frame)
    router.send_multipart([identity, b"done"])
    router.close(1000)
    ctx.term()


def raw_source(conn: Conn, port: int, n: int) -> None:
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"hello")
    dealer.recv()
    packb = msgpack.Packer(use_bin_type=True).pack
    send = dealer.send
    t0 = time.perf_counter()
    for i in range(n):
        send(packb(_raw_message(i)))
    dealer.recv()
    conn.send(n / (time.perf_counter() - t0))
    dealer.close(0)
    ctx.term()


def raw_rep(conn: Conn) -> None:
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    conn.send(rep.bind_to_random_port("tcp://127.0.0.1"))
    packb = msgpack.Packer(use_bin_type=True).pack
    while True:
        msg = msgpack.unpackb(rep.recv())
        rep.send(packb(msg))
        if msg == "stop":
            break
    rep.close(1000)
    ctx.term()


def raw_req(conn: Conn, port: int, n: int) -> None:
    ctx = zmq.Context()
    req = ctx.socket(zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")
    packb = msgpack.Packer(use_bin_type=True).pack
    samples = []
    for i in range(n + n // 10):  # the first tenth warms up
        t0 = time.perf_counter()
        req.send(packb(_raw_message(i)))
        msgpack.unpackb(req.recv())
        samples.append(time.perf_counter() - t0)
    req.send(packb("stop"))
    req.recv()
    conn.send(_latency(samples[n // 10:]))
    req.close(0)
    ctx.term()


def raw_pykka_tell(n: int) -> float:
    import pykka

    class Tiny:
        __slots__ = ("i",)

        def __init__(self, i: int) -> None:
            self.i = i

    done = threading.Event()

    class Sink(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def on_receive(self, message: Any) -> None:
            self.count += 1
            if self.count == n:
                done.set()

    ref = Sink.start()
    tell = ref.tell
    t0 = time.perf_counter()
    for i in range(n):
        tell(Tiny(i))
    done.wait()
    rate = n / (time.perf_counter() - t0)
    ref.stop()
    return rate


# --- the runtime ---------------------------------------------------------------------


def _runtime_classes() -> dict[str, type]:
    """Process classes, defined lazily so raw children never import the runtime."""
    from actors.node import Node
    from actors.process import Process
    from transport.messages import Echo
    from transport.pid import PID

    class Sink(Process):
        """Counts Echo; answers the request that announces N; tells the sender when all N came."""

        def __init__(self, node: Node, name: str, inline: bool = False) -> None:
            super().__init__(node, name)
            _MADE.append(self)
            self.expected = -1
            self.count = 0
            self.done = threading.Event()
            self.install(Echo, self.on_echo, inline=inline)  # short, never blocks: may run on the I/O thread

        def on_echo(self, sender: PID, msg: Echo) -> Echo | None:
            if msg.payload == b"expect":
                self.expected, self.count = msg.seq, 0
                self.done.clear()
                return msg
            self.count += 1
            if self.count == self.expected:
                self.done.set()
                if msg.payload == PAYLOAD:
                    self.send(sender, Echo(payload=b"done", seq=self.count))
            return msg

    class Source(Sink):
        """Sends or asks on its own thread; its ``done`` fires on the sink's reply."""

        def on_echo(self, sender: PID, msg: Echo) -> Echo | None:
            self.done.set()
            return None

    return {"Sink": Sink, "Source": Source}


def _quiet() -> None:
    from actors.logs import configure_logging

    configure_logging(level="warning")


_MADE: list[Any] = []  # each runtime process built here, for its starter to pick up


def _spawn(cls: Any, node: Any, name: str, *args: Any) -> Any:
    cls.spawn(node, name, *args)  # pykka builds the instance on this thread
    return _MADE.pop()


def _node(encrypted: bool) -> Any:
    from actors.node import Node
    from transport.endpoint import generate_key_pair

    return Node(curve=generate_key_pair() if encrypted else None).start()


def ours_sink(conn: Conn, encrypted: bool = False, inline: bool = False) -> None:
    _quiet()
    node = _node(encrypted)
    sink = _spawn(_runtime_classes()["Sink"], node, "sink", inline)
    conn.send(f"{sink.pid} {node.public_key.decode()}".strip())  # the pid, and the key to pin if encrypted
    conn.recv()  # until the sender is finished
    node.stop()


def ours_source(conn: Conn, target: str, n: int, mode: str) -> None:
    from transport.messages import Echo
    from transport.pid import PID

    _quiet()
    pid, _, key = target.partition(" ")
    node = _node(bool(key))
    to = PID.parse(pid)
    if key:
        node.pin(to.address, key.encode())
    src = _spawn(_runtime_classes()["Source"], node, "source")
    src.request(to, Echo(payload=b"warm-up")).result(10)
    if mode == "send":
        src.request(to, Echo(payload=b"expect", seq=n)).result(10)
        t0 = time.perf_counter()

        def blast() -> None:
            send = src.send
            for i in range(n):
                send(to, Echo(payload=PAYLOAD, seq=i))

        src.run(blast)
        ok = src.done.wait(60)
        elapsed = time.perf_counter() - t0
        dropped = node.endpoint.counters.get("dropped")
        conn.send(n / elapsed if ok else f"not all delivered in 60 s (dropped {dropped})")
    else:
        total = n + n // 10
        samples: list[float] = []
        finished = threading.Event()

        def ask(i: int) -> None:
            t0 = time.perf_counter()
            future = src.request(to, Echo(payload=PAYLOAD, seq=i))

            def answered(_: Any) -> None:
                samples.append(time.perf_counter() - t0)
                if i + 1 < total:
                    ask(i + 1)
                else:
                    finished.set()

            future.add_done_callback(answered)

        src.run(ask, 0)  # each answer sends the next request, on the thread that settles it
        finished.wait(120)
        conn.send(_latency(samples[n // 10:]))
    node.stop()


def ours_local_send(n: int) -> float:
    from actors.node import Node
    from transport.messages import Echo

    _quiet()
    classes = _runtime_classes()
    with Node() as node:
        sink = _spawn(classes["Sink"], node, "sink")
        src = _spawn(classes["Source"], node, "source")
        src.request(sink.pid, Echo(payload=b"expect", seq=n)).result(10)
        send, to = src.send, sink.pid
        t0 = time.perf_counter()
        for i in range(n):
            send(to, Echo(seq=i))
        sink.done.wait(60)
        return n / (time.perf_counter() - t0)


# --- running the pairs -----------------------------------------------------------------


def _latency(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_us": statistics.median(ordered) * 1e6, "p99_us": ordered[int(len(ordered) * 0.99)] * 1e6}


def _pair(server: Callable[..., None], server_args: tuple, client: Callable[..., None], client_args: tuple) -> Any:
    """Start ``server`` in a child, pass what it sends first to ``client`` in another child."""
    ctx = mp.get_context("spawn")
    s_parent, s_child = ctx.Pipe()
    c_parent, c_child = ctx.Pipe()
    s = ctx.Process(target=server, args=(s_child, *server_args), daemon=True)
    s.start()
    address = s_parent.recv()
    c = ctx.Process(target=client, args=(c_child, address, *client_args), daemon=True)
    c.start()
    if not c_parent.poll(180):
        raise RuntimeError(f"{client.__name__} gave no result")
    result = c_parent.recv()
    s_parent.send("stop")
    for p in (c, s):
        p.join(10)
        if p.is_alive():
            p.kill()
    if isinstance(result, str):  # the child's account of what went wrong
        raise RuntimeError(f"{client.__name__}: {result}")  # noqa: TRY004
    return result


def _in_child(conn: Conn, fn: Callable[[int], float], n: int) -> None:
    conn.send(fn(n))


def _alone(fn: Callable[[int], float], n: int) -> float:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_in_child, args=(child, fn, n), daemon=True)
    p.start()
    if not parent.poll(180):
        raise RuntimeError(f"{fn.__name__} gave no result")
    result = parent.recv()
    p.join(10)
    return float(result)


def measure(quick: bool) -> dict[str, float]:
    n_send, n_rr, n_local, runs = (20_000, 1_000, 20_000, 1) if quick else (100_000, 5_000, 100_000, 3)
    best: dict[str, list[float]] = {}

    def keep(key: str, value: float) -> None:
        best.setdefault(key, []).append(value)

    for _ in range(runs):  # interleaved, so drifts of a noisy machine hit both sides
        keep("raw_dealer_router_msg_s", _pair(raw_sink, (n_send,), raw_source, (n_send,)))
        latencies = {"raw_req_rep": _pair(raw_rep, (), raw_req, (n_rr,))}
        for prefix, encrypted in (("", False), ("encrypted_", True)):  # CURVE on both nodes, or not
            keep(f"{prefix}remote_send_msg_s", _pair(ours_sink, (encrypted,), ours_source, (n_send, "send")))
            latencies[f"{prefix}request_response"] = _pair(ours_sink, (encrypted, True), ours_source,
                                                           (n_rr, "request"))
        latencies["request_response_mailbox"] = _pair(ours_sink, (False, False), ours_source, (n_rr, "request"))
        for name, result in latencies.items():
            keep(f"{name}_median_us", result["median_us"])
            keep(f"{name}_p99_us", result["p99_us"])
        keep("raw_pykka_tell_msg_s", _alone(raw_pykka_tell, n_local))
        keep("local_send_msg_s", _alone(ours_local_send, n_local))
    fig = {k: (max(v) if k.endswith("msg_s") else min(v)) for k, v in best.items()}
    for _, ours, raw, ratio, _ in ROWS:  # ours / raw; the encrypted rows: encrypted / plain
        fig[ratio] = fig[ours] / fig[raw]
    fig.update({"messages_one_way": n_send, "requests": n_rr, "messages_local": n_local, "runs": runs})
    return fig


ROWS = [
    ("remote one-way send (msg/s)", "remote_send_msg_s", "raw_dealer_router_msg_s", "remote_send_ratio", ">= 0.5"),
    ("request/response median (us)", "request_response_median_us", "raw_req_rep_median_us",
     "request_response_median_ratio", "<= 2"),
    ("request/response p99 (us)", "request_response_p99_us", "raw_req_rep_p99_us", "request_response_p99_ratio", ""),
    ("request/response, mailbox median (us)", "request_response_mailbox_median_us", "raw_req_rep_median_us",
     "request_response_mailbox_median_ratio", ""),
    ("local send (msg/s)", "local_send_msg_s", "raw_pykka_tell_msg_s", "local_send_ratio", ">= 0.7"),
]
ROWS += [(f"CURVE {label}", f"encrypted_{ours}", ours, f"encrypted_{ratio}", "(raw: ours plain)")
         for label, ours, _, ratio, _ in ROWS[:3]]


def table(fig: dict[str, float]) -> str:
    lines = [f"{'figure':38} {'ours':>12} {'raw':>12} {'ratio':>7}  target",
             f"{'-' * 38} {'-' * 12} {'-' * 12} {'-' * 7}  ------"]
    for label, ours, raw, ratio, target in ROWS:
        lines.append(f"{label:38} {fig[ours]:12,.1f} {fig[raw]:12,.1f} {fig[ratio]:7.2f}  {target}")
    lines.append(f"(raw: DEALER->ROUTER one message per frame; REQ/REP; pykka tell. best of {fig['runs']:.0f} runs; "
                 f"{fig['messages_one_way']:,.0f} one-way, {fig['requests']:,.0f} requests, "
                 f"{fig['messages_local']:,.0f} local)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--quick", action="store_true", help="fewer messages, one run")
    args = parser.parse_args(argv)
    fig = measure(args.quick)
    print(table(fig), flush=True)
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in fig.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
